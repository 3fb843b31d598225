"""What the ledger stores per record: RFC 8785 canonical bytes, their leaf hash, and the entry value object.

The leaf is the canonical JSON of the payload alone, so anyone holding the record can recompute it;
put the record's own id inside the payload (xAPI statements carry `id`) to bind the two.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785

from footprint.ledger.merkle import HASH_SIZE, leaf_hash


class LedgerError(ValueError):
    """A record the ledger refuses, or a request about entries or sizes it does not hold."""


class DuplicateRecordError(LedgerError):
    """The (kind, record_id) pair is already in the ledger: records are appended once, never updated."""


MAX_KIND = 64
MAX_RECORD_ID = 255


MAX_SAFE_INTEGER = 2**53 - 1
"""RFC 8785 numbers are IEEE-754 doubles: larger integers are not exact (the library refuses them)."""


def canonical(payload: Mapping[str, Any]) -> bytes:
    """RFC 8785 (JCS) canonical JSON of a record; raises LedgerError for values JSON cannot carry exactly.

    The `rfc8785` library is the reference. For the records the platform mostly writes (no floats, keys
    in the Basic Multilingual Plane) the standard library's C encoder with sorted keys writes the same
    bytes about ten times faster (same escapes, same order when no key has a surrogate pair); a test
    compares both on generated values.
    """
    if _plain(payload):
        try:
            return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        except UnicodeEncodeError:  # a lone surrogate: let the reference refuse it
            pass
    try:
        return rfc8785.dumps(payload)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise LedgerError(f"record cannot be canonicalised: {exc}") from exc


def _plain(value: Any) -> bool:
    """True when JSON made of this value has one form for both encoders: no floats, exact integers, BMP keys."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) or item is None or isinstance(item, bool):
            continue
        if isinstance(item, int):
            if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                continue
            return False
        if isinstance(item, dict):
            for key in item:
                if not isinstance(key, str) or (key and max(key) > "\uffff"):
                    return False
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        else:
            return False  # floats and anything else go to the reference
    return True


def record_leaf_hash(payload: Mapping[str, Any]) -> bytes:
    """The Merkle leaf hash of a record: SHA-256(0x00 ‖ JCS(payload))."""
    return leaf_hash(canonical(payload))


@dataclass(frozen=True)
class Record:
    """A record to append: its kind (`xapi.statement`, `proctor.event`, …), its id and its JSON payload."""

    kind: str
    record_id: str
    payload: Mapping[str, Any]

    def __post_init__(self) -> None:
        if not 0 < len(self.kind) <= MAX_KIND:
            raise LedgerError(f"record kind must be 1..{MAX_KIND} characters")
        if not 0 < len(self.record_id) <= MAX_RECORD_ID:
            raise LedgerError(f"record id must be 1..{MAX_RECORD_ID} characters")


@dataclass(frozen=True)
class LedgerEntry:
    """A record as the ledger holds it: leaf `index`, the canonical bytes hashed, and the leaf hash."""

    index: int
    kind: str
    record_id: str
    payload: bytes
    leaf_hash: bytes
    appended_at: datetime

    def __post_init__(self) -> None:
        if self.index < 0 or len(self.leaf_hash) != HASH_SIZE:
            raise LedgerError("a ledger entry has a non-negative index and a 32-byte leaf hash")
