"""Where recordings and evidence live: a small interface, a local directory by default.

Keys are relative, slash-separated names (`college/exam/session/chunk_00001.ts`); writes are atomic
(temporary file, then rename) so a crash never leaves half a chunk under a real key. Object storage
can implement the same four methods when the platform runs on more than one node.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

_KEY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class StorageKeyError(ValueError):
    """A key that could escape the storage root or is otherwise malformed."""


@dataclass(frozen=True)
class StoredObject:
    """A stored object's key and size."""

    key: str
    size: int


class Storage(Protocol):
    """The storage interface the platform uses for recordings and evidence."""

    def put(self, key: str, source: Path) -> StoredObject:
        """Move the file `source` under `key` (replacing nothing: an existing key is an error)."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Open a stored object for reading; FileNotFoundError if absent."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix/`; returns how many were deleted."""
        ...

    def keys(self, prefix: str) -> Iterator[str]:
        """Keys under `prefix/`, sorted."""
        ...


def check_key(key: str) -> str:
    if not _KEY.match(key) or any(part in {".", ".."} for part in key.split("/")):
        raise StorageKeyError(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    """Objects as files below a root directory (the default, under PROCTOR_DATA_DIR)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def local_path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, source: Path) -> StoredObject:
        target = self.local_path(key)
        if target.exists():
            raise FileExistsError(f"storage key {key!r} already exists")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.part")
        shutil.copyfile(source, partial)
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
        source.unlink()
        return StoredObject(key, target.stat().st_size)

    def open(self, key: str) -> BinaryIO:
        return self.local_path(key).open("rb")

    def delete_prefix(self, prefix: str) -> int:
        folder = self.local_path(prefix)
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder)
        return count

    def keys(self, prefix: str) -> Iterator[str]:
        folder = self.local_path(prefix)
        if not folder.is_dir():
            return iter(())
        return iter(
            sorted(
                str(p.relative_to(self.root)) for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
            )
        )
