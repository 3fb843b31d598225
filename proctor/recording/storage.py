"""Where recordings and evidence live: a small interface, a local directory by default.

Keys are relative, slash-separated names (`college/exam/session/chunk_00001.ts`); writes are atomic
(temporary file, then rename) so a crash never leaves half an object under a real key. Everything in
the platform reaches media through this interface only, so a node never assumes the files are on its
own disk: several platform nodes and the analysis workers share one store (a shared directory mounted
at the same path everywhere, or an object store implementing the same methods). `StorageSpec` names a
store by value, so a job can carry it to a worker on another machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

_KEY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
PRIVATE_FILE = 0o600
COPY_BUFFER = 1024 * 1024


class StorageKeyError(ValueError):
    """A key that could escape the storage root or is otherwise malformed."""


@dataclass(frozen=True)
class StoredObject:
    """A stored object's key and size."""

    key: str
    size: int


@dataclass(frozen=True)
class StorageSpec:
    """How to reach a store from any process or machine (picklable): the kind and its location."""

    kind: Literal["local"]
    location: str
    """For `local`: the absolute root directory (the same path on every machine that mounts it)."""
    master_key_file: str | None = None
    """Media encrypted at rest (proctor/recording/datakeys.py): the master key's file, at the same path on every
    machine; None: stored as it is."""


class Storage(Protocol):
    """The storage interface the platform uses for recordings, evidence and pictures."""

    @property
    def spec(self) -> StorageSpec:
        """This store by value, for a worker elsewhere to open with `open_storage`."""
        ...

    def put(self, key: str, source: Path) -> StoredObject:
        """Move the file `source` under `key` (replacing nothing: an existing key is an error)."""
        ...

    def put_bytes(self, key: str, data: bytes) -> StoredObject:
        """Store `data` under `key` (an existing key is an error)."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Open a stored object for reading; FileNotFoundError if absent."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
        ...

    def delete(self, key: str) -> bool:
        """Delete one object (nothing if absent); True when something was deleted."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix/`; returns how many were deleted."""
        ...

    def keys(self, prefix: str) -> Iterator[str]:
        """Keys under `prefix/`, sorted."""
        ...

    def as_file(self, key: str) -> AbstractContextManager[Path]:
        """A local file holding the object for the duration of the block (for decoders that need a path)."""
        ...


def _private_file(path: Path) -> BinaryIO:
    """`path` opened for writing, readable by its owner only whatever the umask (media is personal data)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)  # the file may have been there (a partial write of a crashed process)
    return os.fdopen(fd, "wb")


def check_key(key: str) -> str:
    if not _KEY.match(key) or any(part in {".", ".."} for part in key.split("/")):
        raise StorageKeyError(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    """Objects as files below a root directory (the default, under PROCTOR_DATA_DIR or PROCTOR_MEDIA_DIR).

    Several nodes may share the directory (NFS or another shared file system mounted at the same path):
    writes go to a hidden temporary name and are renamed into place, so a reader never sees half a file.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        root.mkdir(parents=True, exist_ok=True)

    @property
    def spec(self) -> StorageSpec:
        return StorageSpec("local", str(self.root))

    def local_path(self, key: str) -> Path:
        """Where the object lives on this machine's disk (this backend's own business)."""
        return self.root / check_key(key)

    def put(self, key: str, source: Path) -> StoredObject:
        target = self._new_target(key)
        partial = target.with_name(f".{target.name}.{os.getpid()}.part")
        try:
            with source.open("rb") as data, _private_file(partial) as out:
                shutil.copyfileobj(data, out, COPY_BUFFER)
            self._commit(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        source.unlink()
        return StoredObject(key, target.stat().st_size)

    def put_bytes(self, key: str, data: bytes) -> StoredObject:
        target = self._new_target(key)
        partial = target.with_name(f".{target.name}.{os.getpid()}.part")
        try:
            with _private_file(partial) as out:
                out.write(data)
            self._commit(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return StoredObject(key, len(data))

    def open(self, key: str) -> BinaryIO:
        return self.local_path(key).open("rb")

    def exists(self, key: str) -> bool:
        return self.local_path(key).is_file()

    def delete(self, key: str) -> bool:
        try:
            self.local_path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def delete_prefix(self, prefix: str) -> int:
        folder = self.local_path(prefix)
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder, ignore_errors=True)
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

    @contextlib.contextmanager
    def as_file(self, key: str) -> Iterator[Path]:
        path = self.local_path(key)
        if not path.is_file():
            raise FileNotFoundError(f"no stored object {key!r}")
        yield path  # already a file here: nothing to copy

    def _new_target(self, key: str) -> Path:
        target = self.local_path(key)
        if target.exists():
            raise FileExistsError(f"storage key {key!r} already exists")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    @staticmethod
    def _commit(partial: Path, target: Path) -> None:
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        if target.exists():  # stored meanwhile by another writer
            raise FileExistsError(f"storage key {target.name!r} already exists")
        os.replace(partial, target)


def open_storage(spec: StorageSpec) -> Storage:
    """The store a spec names (in a worker process, possibly on another machine)."""
    if spec.kind != "local":
        raise ValueError(f"unknown storage kind {spec.kind!r}")
    local = LocalStorage(Path(spec.location))
    if spec.master_key_file is None:
        return local
    from proctor.recording.encrypted import EncryptedStorage  # noqa: PLC0415  (it imports this module)

    return EncryptedStorage.over(local, Path(spec.master_key_file), create=False)


@contextlib.contextmanager
def scratch_folder(parent: Path | None = None, prefix: str = ".scratch.") -> Iterator[Path]:
    """A private temporary folder on this node (for staging and remuxing), removed after the block."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
