"""Offline verification for outsiders: a record, its proof and a signed checkpoint, checked with the public key only.

Input problems (unreadable file, malformed JSON, proof, note or key) raise `BadInput`; a well-formed
claim that does not hold (bad signature, proof leading elsewhere) raises `VerificationFailed`. The CLI
turns these into exit codes 2 and 1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from footprint import jsonlimits
from footprint.ledger.checkpoint import Checkpoint, CheckpointError, SignatureError
from footprint.ledger.entries import LedgerError, canonical
from footprint.ledger.history import Verifier, parse_verifier, verify_checkpoint
from footprint.ledger.merkle import (
    ConsistencyProof,
    InclusionProof,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

logger = logging.getLogger(__name__)


class BadInput(ValueError):
    """A file that cannot be read or does not have the expected shape."""


class VerificationFailed(ValueError):
    """Well-formed evidence that does not prove the claim."""


@dataclass(frozen=True)
class InclusionVerdict:
    """A verified inclusion: the record's leaf hash is leaf `leaf_index` of the signed `checkpoint`."""

    checkpoint: Checkpoint
    leaf_index: int
    leaf_hash: bytes


@dataclass(frozen=True)
class ConsistencyVerdict:
    """A verified append-only step: `old` is a prefix of `new`, each signed by the key of its tree size."""

    old: Checkpoint
    new: Checkpoint


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {what} {path}: {exc}") from exc


def read_json(path: Path, what: str) -> Any:
    try:
        return jsonlimits.loads(read_text(path, what), f"{what} {path}")
    except jsonlimits.JSONLimitError as exc:
        raise BadInput(str(exc)) from exc


def read_verifier(path: Path) -> Verifier:
    """A verifier key string from a file (as written by `footprint keygen`), or the ledger's key history (the JSON
    of `GET /ledger/keys`, `ledger.keys.json`), which checks each checkpoint under the key of its tree size."""
    try:
        return parse_verifier(read_text(path, "public key"))
    except CheckpointError as exc:
        raise BadInput(f"public key {path}: {exc}") from exc


def _signed(note: str, verifier: Verifier, what: str) -> Checkpoint:
    try:
        return verify_checkpoint(note, verifier)
    except SignatureError as exc:
        raise VerificationFailed(f"{what}: {exc}") from exc
    except CheckpointError as exc:
        raise BadInput(f"{what}: {exc}") from exc


def check_inclusion(record: Any, proof_json: Any, note: str, verifier: Verifier) -> InclusionVerdict:
    """Verify that `record` (a JSON object) is in the log whose signed checkpoint is `note`."""
    if not isinstance(record, dict):
        raise BadInput("the statement must be a JSON object")
    try:
        leaf = leaf_hash(canonical(record))
        proof = InclusionProof.from_json(proof_json)
    except (LedgerError, ProofError) as exc:
        raise BadInput(str(exc)) from exc
    checkpoint = _signed(note, verifier, "checkpoint")
    if proof.tree_size != checkpoint.tree_size:
        raise VerificationFailed(
            f"the proof is for a tree of {proof.tree_size}, the checkpoint for {checkpoint.tree_size}"
        )
    try:
        verify_inclusion(proof, leaf, checkpoint.root_hash)
    except ProofError as exc:
        raise VerificationFailed(f"the statement is not proven by this checkpoint: {exc}") from exc
    logger.info("leaf %d verified in %s at size %d", proof.leaf_index, checkpoint.origin, checkpoint.tree_size)
    return InclusionVerdict(checkpoint, proof.leaf_index, leaf)


def check_consistency(old_note: str, new_note: str, proof_json: Any, verifier: Verifier) -> ConsistencyVerdict:
    """Verify that the log of `new_note` extends the log of `old_note` without rewriting it."""
    try:
        proof = ConsistencyProof.from_json(proof_json)
    except ProofError as exc:
        raise BadInput(str(exc)) from exc
    old = _signed(old_note, verifier, "old checkpoint")
    new = _signed(new_note, verifier, "new checkpoint")
    if old.origin != new.origin:
        raise VerificationFailed(f"the checkpoints are of different logs ({old.origin!r}, {new.origin!r})")
    if (proof.first, proof.second) != (old.tree_size, new.tree_size):
        sizes = f"{old.tree_size} to {new.tree_size}"
        raise VerificationFailed(f"the proof is from {proof.first} to {proof.second}, the checkpoints from {sizes}")
    try:
        verify_consistency(proof, old.root_hash, new.root_hash)
    except ProofError as exc:
        raise VerificationFailed(f"the new checkpoint does not extend the old one: {exc}") from exc
    return ConsistencyVerdict(old, new)
