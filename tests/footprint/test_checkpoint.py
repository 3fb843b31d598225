"""C2SP signed-note checkpoints: sign, verify offline with the verifier key, refuse edits and other keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from footprint.ledger.checkpoint import Checkpoint, CheckpointError, sign, verifier_key, verify
from footprint.ledger.merkle import leaf_hash, root_hash

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
