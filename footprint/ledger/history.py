"""The ledger's key history: every verifier key the ledger has signed with, each with the checkpoints it may sign.

A rotation (footprint/ledger/rotation.py) retires the signing key, but its public half stays published with its
validity, so every checkpoint signed before keeps verifying while a checkpoint of a later tree it signed is refused.
Validity is a window of tree sizes, first and last inclusive, with the times for people: a signed note carries its
tree size, signed, but no clock time, so the tree size is the checkpoint's time that anyone holding only the note
and this history can check. The rotation's handover checkpoint is signed by both keys: the old key's window ends at
its size and the new key's begins there.

The history is a file, `ledger.keys.json` beside `ledger.key`, not a table: the signing key is a file loaded at
start (and shared by a cluster's nodes through their key folder), and the history is what `footprint audit` trusts,
so it must not live in the database the audit checks, where whoever could edit a table could publish a key of
their own. The file's format is the one `GET /ledger/keys` publishes and `footprint verify … --public-key` and
`footprint audit --public-key` read. Until the first rotation there is no file: the history is the one key of
`ledger.pub`, valid for every tree size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from footprint.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    SignatureError,
    key_id,
    parse_verifier_key,
    read_note,
    signature_keys,
    verify,
)

HISTORY_FILE = "ledger.keys.json"


class KeyValidityError(SignatureError):
    """A checkpoint signed by no published key, or only by one whose validity does not cover its tree size."""


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise CheckpointError(f"{what} is not an ISO 8601 time with its zone")
    return moment


def _parse_size(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CheckpointError(f"{what} is not a tree size")
    return value


@dataclass(frozen=True)
class PublishedKey:
    """One verifier key string and its validity: the tree sizes `first_tree_size`..`last_tree_size` (None: the
    current key, no end yet) and the times it was the signing key (`valid_from` None: since the ledger began)."""

    verifier: str
    first_tree_size: int
    last_tree_size: int | None
    valid_from: datetime | None
    valid_until: datetime | None

    def __post_init__(self) -> None:
        parse_verifier_key(self.verifier)
        if self.last_tree_size is not None and self.last_tree_size < self.first_tree_size:
            raise CheckpointError(f"key {self.verifier}: its validity ends before it begins")

    @property
    def identity(self) -> tuple[str, bytes]:
        """The key name and key id its signature lines carry."""
        key = parse_verifier_key(self.verifier)
        return key.name, key_id(key.name, key.public_key)

    def covers(self, tree_size: int) -> bool:
        """Whether this key may sign the checkpoint of a tree of `tree_size` leaves."""
        return self.first_tree_size <= tree_size and (self.last_tree_size is None or tree_size <= self.last_tree_size)

    def validity(self) -> str:
        """Its window in words, for messages."""
        sizes = f"tree sizes {self.first_tree_size}..{'' if self.last_tree_size is None else self.last_tree_size}"
        return sizes if self.valid_until is None else f"{sizes}, retired {_time(self.valid_until)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "verifierKey": self.verifier,
            "validFrom": _time(self.valid_from),
            "validUntil": _time(self.valid_until),
            "firstTreeSize": self.first_tree_size,
            "lastTreeSize": self.last_tree_size,
        }

    @classmethod
    def from_json(cls, value: Any) -> PublishedKey:
        if not isinstance(value, Mapping) or not isinstance(value.get("verifierKey"), str):
            raise CheckpointError("a published key is an object with its verifierKey")
        first = _parse_size(value.get("firstTreeSize", 0), "firstTreeSize")
        return cls(
            value["verifierKey"].strip(),
            0 if first is None else first,
            _parse_size(value.get("lastTreeSize"), "lastTreeSize"),
            _parse_time(value.get("validFrom"), "validFrom"),
            _parse_time(value.get("validUntil"), "validUntil"),
        )


@dataclass(frozen=True)
class KeyHistory:
    """Every key of the ledger, oldest first: each window begins where the one before ended (the handover
    checkpoint), the first at tree size 0, and only the last, the current key, is open."""

    keys: tuple[PublishedKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise CheckpointError("a key history holds at least one key")
        if self.keys[0].first_tree_size != 0:
            raise CheckpointError("the first key's validity begins at tree size 0")
        for before, after in zip(self.keys, self.keys[1:], strict=False):
            if before.last_tree_size != after.first_tree_size:
                raise CheckpointError(f"key {after.verifier} does not begin where the key before it ended")
        if self.keys[-1].last_tree_size is not None:
            raise CheckpointError("the last key of a history is the current one: its validity has no end")
        if len({key.identity for key in self.keys}) != len(self.keys):
            raise CheckpointError("a key history names a key twice")

    @classmethod
    def single(cls, verifier: str, valid_from: datetime | None = None) -> KeyHistory:
        """The history of a ledger never rotated: its one key, valid for every tree size."""
        return cls((PublishedKey(verifier, 0, None, valid_from, None),))

    @property
    def current(self) -> PublishedKey:
        """The key that signs new checkpoints."""
        return self.keys[-1]

    def rotated(self, verifier: str, tree_size: int, at: datetime) -> KeyHistory:
        """This history with the current key retired at the handover checkpoint of `tree_size` leaves, and
        `verifier` the current key from there."""
        old = self.current
        if tree_size < old.first_tree_size:
            raise CheckpointError(f"the ledger is smaller than when its current key began ({old.first_tree_size})")
        retired = PublishedKey(old.verifier, old.first_tree_size, tree_size, old.valid_from, at)
        return KeyHistory((*self.keys[:-1], retired, PublishedKey(verifier, tree_size, None, at, None)))

    def verify(self, note: str) -> Checkpoint:
        """The checkpoint of a signed note once it is signed by a key whose validity covers its tree size (every
        such signature on it must check out); KeyValidityError if it is signed by no published key, or only by
        keys of other tree sizes."""
        checkpoint = read_note(note)
        signed = set(signature_keys(note))
        named = [key for key in self.keys if key.identity in signed]
        valid = [key for key in named if key.covers(checkpoint.tree_size)]
        if not named:
            raise KeyValidityError("no signature by a published key of this ledger on this note")
        if not valid:
            keys = "; ".join(f"{key.verifier} ({key.validity()})" for key in named)
            raise KeyValidityError(
                f"the checkpoint of tree size {checkpoint.tree_size} is signed only by a key not valid for it: {keys}"
            )
        for key in valid:
            verify(note, key.verifier)
        return checkpoint

    def check_current(self, verifier: str) -> None:
        """CheckpointError unless `verifier` is this history's current key (the one the signing key file holds)."""
        if verifier != self.current.verifier:
            raise CheckpointError(
                f"the ledger key is not the current key of its history {HISTORY_FILE} ({self.current.verifier})"
            )

    def to_json(self) -> dict[str, Any]:
        return {"keys": [key.to_json() for key in self.keys]}

    @classmethod
    def from_json(cls, value: Any) -> KeyHistory:
        if not isinstance(value, Mapping) or not isinstance(value.get("keys"), list):
            raise CheckpointError('a key history is a JSON object {"keys": [...]}')
        return cls(tuple(PublishedKey.from_json(key) for key in value["keys"]))


Verifier = str | KeyHistory
"""What checks checkpoints: one verifier key string (valid for every tree size), or a key history."""


def parse_verifier(text: str) -> Verifier:
    """A verifier key string, or a key history as JSON (`GET /ledger/keys`); CheckpointError if it is neither."""
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise CheckpointError(f"malformed key history ({exc})") from exc
        return KeyHistory.from_json(value)
    parse_verifier_key(text)
    return text.strip()


def verify_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """Check a signed checkpoint under one key, or under the key of its tree size in a history."""
    return verifier.verify(note) if isinstance(verifier, KeyHistory) else verify(note, verifier)


def history_file(key_file: Path) -> Path:
    """Where the history of the signing key in `key_file` is kept: beside it."""
    return key_file.with_name(HISTORY_FILE)


def read_history(key_file: Path) -> KeyHistory | None:
    """The key history beside `key_file`, or None before the first rotation."""
    path = history_file(key_file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read the key history {path}: {exc}") from exc
    found = parse_verifier(text)
    if not isinstance(found, KeyHistory):
        raise CheckpointError(f"{path} is not a key history")
    return found


def history_text(history: KeyHistory) -> bytes:
    """The file's bytes: the JSON that is published, one key a line for people reading it."""
    lines = ",\n".join("  " + json.dumps(key.to_json()) for key in history.keys)
    return ('{"keys": [\n' + lines + "\n]}\n").encode()
