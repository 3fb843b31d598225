"""Merkle proof paths against the RFC 6962 test vectors (certificate-transparency's merkle_tree_test.cc;
leaves and roots shared with test_vectors.py) and by property over random tree sizes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footprint.ledger.merkle import (
    ConsistencyProof,
    InclusionProof,
    ProofError,
    consistency_path,
    inclusion_path,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.footprint.test_vectors import LEAVES, ROOTS


def test_empty_tree_root_is_hash_of_nothing() -> None:
    assert root_hash([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_rfc6962_vectors(size: int) -> None:
    assert root_hash(LEAVES[:size]).hex() == ROOTS[size - 1]


@pytest.mark.parametrize(
    ("index", "size", "path"),
    [
        (0, 1, []),
        (
            0,
            8,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            [
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ],
)
def test_inclusion_paths_match_vectors(index: int, size: int, path: list[str]) -> None:
    got = inclusion_path(LEAVES[:size], index)
    assert [p.hex() for p in got] == path
    verify_inclusion(InclusionProof(index, size, got), LEAVES[index], bytes.fromhex(ROOTS[size - 1]))


@pytest.mark.parametrize(
    ("first", "second", "path"),
    [
        (1, 1, []),
        (
            1,
            8,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ],
)
def test_consistency_paths_match_vectors(first: int, second: int, path: list[str]) -> None:
    got = consistency_path(LEAVES[:second], first)
    assert [p.hex() for p in got] == path
    verify_consistency(
        ConsistencyProof(first, second, got), bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1])
    )


sizes = st.integers(min_value=1, max_value=300)


@settings(max_examples=60, deadline=None)
@given(size=sizes, data=st.data())
def test_every_inclusion_proof_verifies_and_tampering_fails(size: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    root = root_hash(leaves)
    index = data.draw(st.integers(0, size - 1))
    proof = InclusionProof(index, size, inclusion_path(leaves, index))
    verify_inclusion(proof, leaves[index], root)
    assert len(proof.audit_path) <= (size - 1).bit_length()
    with pytest.raises(ProofError):
        verify_inclusion(proof, leaf_hash(b"forged"), root)
    if proof.audit_path:
        bad = (bytes(32), *proof.audit_path[1:])
        with pytest.raises(ProofError):
            verify_inclusion(InclusionProof(index, size, bad), leaves[index], root)
    if size > 1:
        with pytest.raises(ProofError):
            verify_inclusion(InclusionProof((index + 1) % size, size, proof.audit_path), leaves[index], root)


@settings(max_examples=60, deadline=None)
@given(size=sizes, data=st.data())
def test_every_consistency_proof_verifies_and_rewritten_history_fails(size: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    first = data.draw(st.integers(1, size))
    proof = ConsistencyProof(first, size, consistency_path(leaves, first))
    verify_consistency(proof, root_hash(leaves[:first]), root_hash(leaves))
    rewritten = [*leaves[: first - 1], leaf_hash(b"rewritten")]
    if first < size:
        with pytest.raises(ProofError):
            verify_consistency(proof, root_hash(rewritten), root_hash(leaves))
