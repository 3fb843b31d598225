"""The attachment value object shared by parsing, storage, signatures and responses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attachment:
    """Raw content of one attachment part, keyed by its SHA-2 hex digest (lower case)."""

    sha2: str
    content_type: str
    content: bytes
