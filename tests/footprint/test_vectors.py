"""Published RFC 6962 vectors of transparency-dev/merkle, checked against our stored-node tree and verifiers.

Sources (Apache-2.0, data only):
- https://github.com/transparency-dev/merkle/blob/main/testonly/constants.go — LeafInputs, NodeHashes
  (every complete subtree, by level and position) and RootHashes.
- https://github.com/transparency-dev/merkle/blob/main/proof/verify_test.go — inclusionProofs,
  consistencyProofs (incl. 6→7), and the corruption probes every good proof must fail under.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from footprint.ledger.merkle import (
    ConsistencyProof,
    InclusionProof,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from footprint.ledger.tree import Frontier, NodeRef

LEAF_INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
EMPTY_TREE = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
LEAVES = [leaf_hash(bytes.fromhex(h)) for h in LEAF_INPUTS]
H = {h[:6]: bytes.fromhex(h) for level in NODE_HASHES for h in level}

# (leaf index 0-based, tree size, proof); verify_test.go lists leaf indexes 1-based.
INCLUSION = [
    (0, 8, [H["96a296"], H["5f083f"], H["6b47aa"]]),
    (5, 8, [H["bc1a06"], H["ca854e"], H["d37ee4"]]),
    (2, 3, [H["fac542"]]),
    (1, 5, [H["6e340b"], H["5f083f"], H["bc1a06"]]),
]
CONSISTENCY = [
    (1, 8, [H["96a296"], H["5f083f"], H["6b47aa"]]),
    (6, 8, [H["0ebc5d"], H["ca854e"], H["d37ee4"]]),
    (2, 5, [H["5f083f"], H["bc1a06"]]),
    (6, 7, [H["0ebc5d"], H["b08693"], H["d37ee4"]]),
]


def root(size: int) -> bytes:
    return bytes.fromhex(ROOTS[size - 1])


def test_frontier_stores_exactly_the_published_complete_subtrees() -> None:
    frontier = Frontier()
    stored = {node.ref: node.hash for leaf in LEAVES for node in frontier.append(leaf)}
    expected = {
        NodeRef(level, pos): bytes.fromhex(h) for level, row in enumerate(NODE_HASHES) for pos, h in enumerate(row)
    }
    assert stored == expected
    assert frontier.root() == root(8)


def fails(check: Callable[[], None]) -> bool:
    try:
        check()
    except ProofError:
        return True
    return False


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_vectors_verify_and_every_corruption_fails(index: int, size: int, path: list[bytes]) -> None:
    leaf, good = LEAVES[index], root(size)
    verify_inclusion(InclusionProof(index, size, tuple(path)), leaf, good)

    def probe(i: int, n: int, lf: bytes, rt: bytes, p: list[bytes]) -> Callable[[], None]:
        return lambda: verify_inclusion(InclusionProof(i, n, tuple(p)), lf, rt)

    probes = {
        "index - 1": probe(index - 1, size, leaf, good, path),
        "index + 1": probe(index + 1, size, leaf, good, path),
        "index ^ 2": probe(index ^ 2, size, leaf, good, path),
        "size * 2": probe(index, size * 2, leaf, good, path),
        "size / 2": probe(index, size // 2, leaf, good, path),
        "wrong leaf": probe(index, size, b"WrongLeaf", good, path),
        "empty root": probe(index, size, leaf, EMPTY_TREE, path),
        "random root": probe(index, size, leaf, SOME_HASH, path),
        "trailing garbage": probe(index, size, leaf, good, [*path, b""]),
        "trailing root": probe(index, size, leaf, good, [*path, good]),
        "preceding garbage": probe(index, size, leaf, good, [b"", *path]),
        "preceding root": probe(index, size, leaf, good, [good, *path]),
        "removed component": probe(index, size, leaf, good, path[:-1]),
    }
    if len(path) > 1:
        probes["inserted component"] = probe(index, size, leaf, good, [path[0], SOME_HASH, *path[1:]])
    for i in range(len(path)):
        flipped = [*path]
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes[f"bit flip {i}"] = probe(index, size, leaf, good, flipped)
    assert [name for name, check in probes.items() if not fails(check)] == []


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_vectors_verify_and_every_corruption_fails(first: int, second: int, path: list[bytes]) -> None:
    r1, r2 = root(first), root(second)
    verify_consistency(ConsistencyProof(first, second, tuple(path)), r1, r2)

    def probe(m: int, n: int, a: bytes, b: bytes, p: list[bytes]) -> Callable[[], None]:
        return lambda: verify_consistency(ConsistencyProof(m, n, tuple(p)), a, b)

    probes = {
        "first - 1": probe(first - 1, second, r1, r2, path),
        "first + 1": probe(first + 1, second, r1, r2, path),
        "first ^ 2": probe(first ^ 2, second, r1, r2, path),
        "second * 2": probe(first, second * 2, r1, r2, path),
        "second / 2": probe(first, second // 2, r1, r2, path),
        "wrong root1": probe(first, second, b"WrongRoot", r2, path),
        "wrong root2": probe(first, second, r1, b"WrongRoot", path),
        "swapped roots": probe(first, second, r2, r1, path),
        "empty proof": probe(first, second, r1, r2, []),
        "trailing garbage": probe(first, second, r1, r2, [*path, b""]),
        "trailing root1": probe(first, second, r1, r2, [*path, r1]),
        "trailing root2": probe(first, second, r1, r2, [*path, r2]),
        "preceding garbage": probe(first, second, r1, r2, [b"", *path]),
        "preceding root1": probe(first, second, r1, r2, [r1, *path]),
        "preceding root2": probe(first, second, r1, r2, [r2, *path]),
        "preceding proof[0]": probe(first, second, r1, r2, [path[0], *path]),
        "truncated proof": probe(first, second, r1, r2, path[:-1]),
    }
    for i in range(len(path)):
        flipped = [*path]
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes[f"bit flip {i}"] = probe(first, second, r1, r2, flipped)
    assert [name for name, check in probes.items() if not fails(check)] == []
