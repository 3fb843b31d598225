"""Rotating the ledger's signing key: a new Ed25519 key signs from now on, the old key's public half stays published.

`rotate_key` goes in three steps, so that a failure leaves nothing half-written:

1. it loads the signing key, refuses (RotationError) unless it is the current key of the history
   (footprint/ledger/history.py), makes the new key and stages the new `ledger.key`, `ledger.pub` and
   `ledger.keys.json` beside the old ones (`….new`, 0600);
2. in one transaction, under the append lock, it signs the handover checkpoint: the checkpoint of the current head,
   signed by the old key and the new one (the latest checkpoint gets the new signature when nothing was appended
   since). The old key's validity ends at that tree size and the new key's begins there;
3. once that has committed, the staged files replace the old ones: the history, the public key, the private key.

A failure before step 3 removes the staged files and leaves the keys, the history and the database as they were.
The old private key is deleted (the new one replaces it), not kept: every checkpoint it signed is signed already and
its public half, published with its validity, verifies them; kept, it could only sign what nobody must accept. A
running server signs with the key it loaded at start, so every node is stopped before a rotation and started after.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from footprint.ledger.checkpoint import CheckpointError, SignedCheckpoint
from footprint.ledger.history import KeyHistory, PublishedKey, history_file, history_text, read_history
from footprint.ledger.keys import VERIFIER_KEY_FILE, Signer, generate_signer, load_signer, private_pem, write_private
from footprint.ledger.service import Ledger

logger = logging.getLogger(__name__)

STAGED = ".new"


class RotationError(Exception):
    """There is no key to rotate, or the key and its history do not fit together: nothing was changed."""


@dataclass(frozen=True)
class Rotation:
    """A done rotation: the key retired and the new one (each with its validity), and the handover checkpoint."""

    retired: PublishedKey
    current: PublishedKey
    handover: SignedCheckpoint
    history: KeyHistory


@dataclass(frozen=True)
class _Staged:
    """New key files written beside the ones they replace, in the order they go into place."""

    moves: tuple[tuple[Path, Path], ...]

    def discard(self) -> None:
        for staged, _ in self.moves:
            staged.unlink(missing_ok=True)

    def install(self) -> None:
        for staged, final in self.moves:
            os.replace(staged, final)


def _stage(key_file: Path, signer: Signer, history: KeyHistory) -> _Staged:
    """Write the history, the verifier key and the private key of `signer` as `….new` files beside `key_file`."""
    contents = (
        (history_file(key_file), history_text(history)),
        (key_file.with_name(VERIFIER_KEY_FILE), (signer.verifier + "\n").encode("ascii")),
        (key_file, private_pem(signer)),
    )
    moves = tuple((final.with_name(final.name + STAGED), final) for final, _ in contents)
    staged = _Staged(moves)
    try:
        for (path, _), (_, data) in zip(moves, contents, strict=True):
            path.unlink(missing_ok=True)  # left by a rotation that was interrupted: never used
            write_private(path, data)
    except BaseException:
        staged.discard()
        raise
    return staged


def rotate_key(
    writing: Callable[[], AbstractContextManager[Session]], origin: str, key_file: Path, now: datetime
) -> Rotation:
    """Retire the signing key in `key_file` (named after the ledger's `origin`) for a new one, with the handover
    checkpoint signed in a transaction of `writing` (a `sessionmaker.begin`, say); RotationError when there is no key
    or it is not the current one of its history."""
    if not key_file.is_file():
        raise RotationError(f"no ledger key at {key_file} to rotate")
    try:
        old = load_signer(key_file, origin)
        history = read_history(key_file)
    except CheckpointError as exc:
        raise RotationError(str(exc)) from exc
    new = generate_signer(origin)
    ledger = Ledger(origin, old)
    staged: _Staged | None = None
    try:
        with writing() as session:
            if history is None:
                history = KeyHistory.single(old.verifier, ledger.signed_since(session) or now)
            try:
                history.check_current(old.verifier)
            except CheckpointError as exc:
                raise RotationError(str(exc)) from exc
            handover = ledger.cosign_head(session, new)
            rotated = history.rotated(new.verifier, handover.checkpoint.tree_size, now)
            staged = _stage(key_file, new, rotated)
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    staged.install()
    logger.info(
        "ledger key %s retired at tree size %d for %s", old.verifier, handover.checkpoint.tree_size, new.verifier
    )
    return Rotation(rotated.keys[-2], rotated.current, handover, rotated)
