"""A store whose objects are encrypted at rest with their college's data key (the first part of every key names
the college: `college/exam/session/…`).

It wraps another store: writes are encrypted on their way in (a stream for files, so a long recording never sits
in memory), reads are decrypted on their way out and stay seekable. Decoders that need a path get a plaintext
copy in a private temporary folder of this node, removed after the block. Everything else — existence, deletion,
listing — is the wrapped store's.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from proctor.recording.datakeys import DATA_KEYS, DataKeyError, DataKeys, LocalKeyFolder, master_ids_in, master_key_at
from proctor.recording.encryption import encrypt_bytes, encrypt_stream, open_plaintext
from proctor.recording.storage import COPY_BUFFER, LocalStorage, StorageSpec, StoredObject, check_key


def college_of(key: str) -> str:
    """The college a storage key belongs to (its first part)."""
    return check_key(key).split("/", 1)[0]


class EncryptedStorage:
    """Objects encrypted with their college's data key (AES-256-GCM, proctor/recording/encryption.py)."""

    def __init__(self, inner: LocalStorage, keys: DataKeys, master_key_file: Path) -> None:
        self.inner = inner
        self.data_keys = keys
        self.master_key_file = master_key_file

    @classmethod
    def over(cls, inner: LocalStorage, master_key_file: Path, *, create: bool) -> EncryptedStorage:
        """`inner` encrypted under the master key in `master_key_file` (made first when `create`, missing, and no
        media is encrypted yet). DataKeyError when the media's data keys are wrapped under other master keys only: a
        missing or wrong key file is never replaced by a new key the media cannot be opened with."""
        folder = LocalKeyFolder(inner.root / DATA_KEYS)
        wrapped_under = master_ids_in(folder)
        needed = " or ".join(sorted(wrapped_under))
        if wrapped_under and not master_key_file.exists():
            raise DataKeyError(
                f"the media's data keys are wrapped under the master key {needed}, and {master_key_file} is missing: "
                "point PROCTOR_MASTER_KEY_FILE at that key (a new key could not open the media)"
            )
        master = master_key_at(master_key_file, create and not wrapped_under)
        if wrapped_under and master.id not in wrapped_under:
            raise DataKeyError(
                f"the media's data keys are wrapped under the master key {needed}, but {master_key_file} holds "
                f"{master.id}: point PROCTOR_MASTER_KEY_FILE at the right key"
            )
        return cls(inner, DataKeys(master, folder), master_key_file)

    @property
    def spec(self) -> StorageSpec:
        return replace(self.inner.spec, master_key_file=str(self.master_key_file))

    def put(self, key: str, source: Path) -> StoredObject:
        key_id, data_key = self.data_keys.current(college_of(key))
        size = source.stat().st_size
        with tempfile.TemporaryDirectory(prefix=".sealing.", dir=source.parent) as folder:
            sealed = Path(folder) / source.name
            with source.open("rb") as plain, sealed.open("wb") as out:
                encrypt_stream(plain, out, data_key, key_id, key)
            self.inner.put(key, sealed)
        source.unlink()
        return StoredObject(key, size)

    def put_bytes(self, key: str, data: bytes) -> StoredObject:
        key_id, data_key = self.data_keys.current(college_of(key))
        self.inner.put_bytes(key, encrypt_bytes(data, data_key, key_id, key))
        return StoredObject(key, len(data))

    def open(self, key: str) -> BinaryIO:
        college = college_of(key)
        return open_plaintext(self.inner.open(key), key, lambda key_id: self.data_keys.key(college, key_id))

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def delete(self, key: str) -> bool:
        return self.inner.delete(key)

    def delete_prefix(self, prefix: str) -> int:
        return self.inner.delete_prefix(prefix)

    def keys(self, prefix: str) -> Iterator[str]:
        return self.inner.keys(prefix)

    def as_file(self, key: str) -> AbstractContextManager[Path]:
        return self._as_file(key)

    @contextlib.contextmanager
    def _as_file(self, key: str) -> Iterator[Path]:
        with self.open(key) as plain, tempfile.TemporaryDirectory(prefix=".plain.") as folder:
            path = Path(folder) / key.rsplit("/", 1)[-1]
            with path.open("wb") as out:
                shutil.copyfileobj(plain, out, COPY_BUFFER)
            yield path
