"""C2SP signed-note checkpoints: sign, verify offline with the verifier key, refuse edits and other keys."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from footprint.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    SignatureError,
    open_note,
    sign,
    sign_note,
    verifier_key,
    verify,
)
from footprint.ledger.keys import generate_signer, load_signer, write_keypair
from footprint.ledger.merkle import ConsistencyProof, InclusionProof, ProofError, leaf_hash, root_hash

ORIGIN = "footprint.example.kz/ledger"


def test_signed_checkpoint_round_trip() -> None:
    key = Ed25519PrivateKey.generate()
    checkpoint = Checkpoint(ORIGIN, 3, root_hash([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")]))
    signed = sign(checkpoint, ORIGIN, key)
    lines = signed.note.split("\n")
    assert lines[:2] == [ORIGIN, "3"] and lines[3] == "" and lines[4].startswith(f"\u2014 {ORIGIN} ")
    assert verify(signed.note, verifier_key(ORIGIN, key.public_key())) == checkpoint


def test_edited_note_and_wrong_key_are_refused() -> None:
    key = Ed25519PrivateKey.generate()
    signed = sign(Checkpoint(ORIGIN, 10, bytes(32)), ORIGIN, key)
    with pytest.raises(CheckpointError, match="does not verify"):
        verify(signed.note.replace("\n10\n", "\n11\n"), verifier_key(ORIGIN, key.public_key()))
    with pytest.raises(CheckpointError, match="no signature"):
        verify(signed.note, verifier_key(ORIGIN, Ed25519PrivateKey.generate().public_key()))
    with pytest.raises(CheckpointError, match="malformed verifier key"):
        verify(signed.note, "not-a-key")


def test_keypair_files_round_trip_and_are_never_overwritten(tmp_path: Path) -> None:
    signer = generate_signer(ORIGIN)
    files = write_keypair(signer, tmp_path)
    assert files.private_key.stat().st_mode & 0o777 == 0o600
    assert files.verifier_key.read_text().strip() == signer.verifier
    loaded = load_signer(files.private_key, ORIGIN)
    checkpoint = Checkpoint(ORIGIN, 1, bytes(32))
    assert sign(checkpoint, ORIGIN, loaded.private_key) == sign(checkpoint, ORIGIN, signer.private_key)
    with pytest.raises(CheckpointError, match="already exists"):
        write_keypair(signer, tmp_path)
    with pytest.raises(CheckpointError, match="cannot load"):
        load_signer(files.verifier_key, ORIGIN)
    with pytest.raises(CheckpointError):
        generate_signer("has space")


def test_verifier_key_format_matches_the_signed_note_spec() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    name, hex_id, encoded = verifier_key(ORIGIN, key.public_key()).split("+", 2)
    raw = base64.b64decode(encoded)
    assert name == ORIGIN and raw[0] == 1 and len(raw) == 33
    assert bytes.fromhex(hex_id) == hashlib.sha256(ORIGIN.encode() + b"\n" + raw).digest()[:4]


def test_proofs_round_trip_through_the_wire_json() -> None:
    inclusion = InclusionProof(3, 8, (bytes(32), b"\x01" * 32))
    assert inclusion.to_json() == {
        "leafIndex": 3,
        "treeSize": 8,
        "auditPath": [base64.b64encode(bytes(32)).decode(), "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="],
    }
    assert InclusionProof.from_json(json.loads(json.dumps(inclusion.to_json()))) == inclusion
    consistency = ConsistencyProof(2, 5, (b"\x02" * 32,))
    assert ConsistencyProof.from_json(consistency.to_json()) == consistency
    for bad in (
        [],
        {"leafIndex": -1, "treeSize": 2, "auditPath": []},
        {"leafIndex": True, "treeSize": 2, "auditPath": []},
        {"leafIndex": 0, "treeSize": 2, "auditPath": ["AAAA"]},
        {"leafIndex": 0, "treeSize": 2},
    ):
        with pytest.raises(ProofError):
            InclusionProof.from_json(bad)


# The signed-note example of golang.org/x/mod/sumdb/note (note.go doc comment and note_test.go), the
# reference implementation of https://c2sp.org/signed-note: Ed25519 is deterministic, so signing the
# same text with the same key must reproduce Go's note byte for byte, and Go's note must open with ours.
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNATURE = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
GO_NOTE = f"{GO_TEXT}\n\u2014 PeterNeumann {GO_SIGNATURE}\n"


def test_interoperates_with_go_sumdb_note() -> None:
    seed = base64.b64decode(GO_SIGNER.split("+", 4)[4])[1:]
    key = Ed25519PrivateKey.from_private_bytes(seed)
    assert verifier_key("PeterNeumann", key.public_key()) == GO_VERIFIER
    assert sign_note(GO_TEXT, "PeterNeumann", key) == GO_NOTE
    assert open_note(GO_NOTE, GO_VERIFIER) == GO_TEXT
    with pytest.raises(SignatureError):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), GO_VERIFIER)
    other = generate_signer("SomeWitness")
    cosigned = GO_NOTE + sign_note(GO_TEXT, other.name, other.private_key).rpartition("\n\n")[2]
    assert open_note(cosigned, GO_VERIFIER) == GO_TEXT  # signatures by other keys are skipped
    assert open_note(cosigned, other.verifier) == GO_TEXT
