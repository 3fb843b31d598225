"""Data keys: one AES-256 key per college encrypts its media; a master key, kept apart from the data, wraps them.

The master key is 32 random bytes in a file of its own (`master.key`, base64, 0600; `PROCTOR_MASTER_KEY_FILE`),
named by its id: the first 8 bytes of its SHA-256, in hex. A college's data key is made on its first stored
object and kept *wrapped* (AES-GCM under the master key, bound to the college and the key id) beside the media,
in `.datakeys/<college>.<master id>.json`: a copy of the media folder is useless without the master key, and a
backup of the media carries its data keys with it.

Rotating the master key (`rewrap`) writes each college's data keys again under the new master key, as new files
named by the new id; the media itself is not touched. Until the old files are removed, either key opens the data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from proctor.recording.encryption import KEY_ID_BYTES

KEY_BYTES = 32
DATA_KEYS = ".datakeys"
"""The folder of the wrapped data keys, at the top of the media store."""


class DataKeyError(Exception):
    """A master key that cannot be read, or a data key it does not unwrap."""


@dataclass(frozen=True)
class MasterKey:
    """The key that wraps the colleges' data keys."""

    secret: bytes

    @property
    def id(self) -> str:
        return hashlib.sha256(b"proctor-kz master key\0" + self.secret).hexdigest()[:16]

    def wrap(self, college: str, key_id: bytes, key: bytes) -> dict[str, str]:
        nonce = os.urandom(12)
        wrapped = AESGCM(self.secret).encrypt(nonce, key, _bound(college, key_id))
        return {
            "id": key_id.hex(),
            "nonce": base64.b64encode(nonce).decode(),
            "wrapped": base64.b64encode(wrapped).decode(),
        }

    def unwrap(self, college: str, entry: dict[str, str]) -> tuple[bytes, bytes]:
        """(key id, data key) of a wrapped entry; DataKeyError when this master key does not open it."""
        try:
            key_id = bytes.fromhex(entry["id"])
            key = AESGCM(self.secret).decrypt(
                base64.b64decode(entry["nonce"]), base64.b64decode(entry["wrapped"]), _bound(college, key_id)
            )
        except (KeyError, ValueError, TypeError, binascii.Error, InvalidTag) as exc:
            raise DataKeyError(f"the master key {self.id} does not open a data key of college {college}") from exc
        return key_id, key


def _bound(college: str, key_id: bytes) -> bytes:
    return b"proctor-kz data key\0" + college.encode() + b"\0" + key_id


def generate_master_key(path: Path) -> MasterKey:
    """Write a new master key file (0600); refuses to overwrite one."""
    key = MasterKey(os.urandom(KEY_BYTES))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(base64.b64encode(key.secret).decode() + "\n")
    return key


def load_master_key(path: Path) -> MasterKey:
    try:
        secret = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
    except (OSError, ValueError, binascii.Error) as exc:
        raise DataKeyError(f"cannot read the master key {path}: {exc}") from exc
    if len(secret) != KEY_BYTES:
        raise DataKeyError(f"{path} does not hold a {KEY_BYTES}-byte master key")
    return MasterKey(secret)


def master_key_at(path: Path, create: bool) -> MasterKey:
    """The master key in `path`, made there first when `create` and there is none."""
    if create and not path.exists():
        try:
            return generate_master_key(path)
        except FileExistsError:
            pass  # made meanwhile by another process
    return load_master_key(path)


class KeyFolder(Protocol):
    """Where wrapped data keys are kept: a folder of small files written once."""

    def read(self, name: str) -> bytes | None: ...

    def write_new(self, name: str, data: bytes) -> bool:
        """Write `name` unless it exists; False when it did."""
        ...

    def names(self) -> list[str]: ...


class LocalKeyFolder:
    """Wrapped data keys as files in a folder (the media store's `.datakeys`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def read(self, name: str) -> bytes | None:
        try:
            return (self.folder / name).read_bytes()
        except FileNotFoundError:
            return None

    def write_new(self, name: str, data: bytes) -> bool:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = self.folder / f".{name}.{os.getpid()}.{threading.get_ident()}.part"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(partial, self.folder / name)  # fails when the name exists: first writer wins
        except FileExistsError:
            return False
        finally:
            partial.unlink(missing_ok=True)
        return True

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir() if p.is_file() and not p.name.startswith("."))


class DataKeys:
    """The colleges' data keys under one master key: made on first use, unwrapped once and kept in memory."""

    def __init__(self, master: MasterKey, folder: KeyFolder) -> None:
        self.master = master
        self.folder = folder
        self._keys: dict[str, dict[bytes, bytes]] = {}
        self._current: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def current(self, college: str) -> tuple[bytes, bytes]:
        """(key id, key) new objects of `college` are encrypted with; made on first use."""
        with self._lock:
            if college not in self._current:
                self._load(college, create=True)
            key_id = self._current[college]
            return key_id, self._keys[college][key_id]

    def key(self, college: str, key_id: bytes) -> bytes:
        """The data key `key_id` of `college`; DataKeyError when it is not there."""
        with self._lock:
            if key_id not in self._keys.get(college, {}):
                self._load(college, create=False)
            try:
                return self._keys[college][key_id]
            except KeyError:
                raise DataKeyError(f"no data key {key_id.hex()} of college {college} under this master key") from None

    def _file(self, college: str) -> str:
        return f"{college}.{self.master.id}.json"

    def _load(self, college: str, create: bool) -> None:
        raw = self.folder.read(self._file(college))
        if raw is None:
            if not create:
                raise DataKeyError(f"college {college} has no data key under the master key {self.master.id}")
            key_id, key = os.urandom(KEY_ID_BYTES), AESGCM.generate_key(bit_length=256)
            record = _record(college, self.master.id, [self.master.wrap(college, key_id, key)])
            if not self.folder.write_new(self._file(college), record):  # another node made it first
                raw = self.folder.read(self._file(college))
        if raw is not None:
            entries = _entries(raw, college)
            unwrapped = [self.master.unwrap(college, entry) for entry in entries]
            key_id = unwrapped[-1][0]
            self._keys[college] = dict(unwrapped)
        else:
            self._keys[college] = {key_id: key}
        self._current[college] = key_id


def _record(college: str, master_id: str, entries: list[dict[str, str]]) -> bytes:
    made = datetime.now(UTC).isoformat(timespec="seconds")
    return json.dumps({"college": college, "master_key": master_id, "made_at": made, "keys": entries}).encode()


def _entries(raw: bytes, college: str) -> list[dict[str, str]]:
    try:
        record = json.loads(raw)
        entries = record["keys"]
        if record["college"] != college or not isinstance(entries, list) or not entries:
            raise ValueError("not this college's keys")
    except (ValueError, KeyError, TypeError) as exc:
        raise DataKeyError(f"the data keys of college {college} are unreadable: {exc}") from exc
    return [dict(entry) for entry in entries]


@dataclass(frozen=True)
class Rewrapped:
    """What a master key rotation did: the colleges whose data keys were written under the new key."""

    colleges: tuple[str, ...]
    old_master: str
    new_master: str


def rewrap(folder: KeyFolder, old: MasterKey, new: MasterKey) -> Rewrapped:
    """Write every data key wrapped by `old` again under `new` (new files; the old ones are left for the operator to
    remove once every node has the new key). DataKeyError when `old` does not open one of them."""
    suffix = f".{old.id}.json"
    colleges = []
    for name in folder.names():
        if not name.endswith(suffix):
            continue
        college = name[: -len(suffix)]
        raw = folder.read(name)
        if raw is None:
            continue
        unwrapped = [old.unwrap(college, entry) for entry in _entries(raw, college)]
        record = _record(college, new.id, [new.wrap(college, key_id, key) for key_id, key in unwrapped])
        folder.write_new(f"{college}.{new.id}.json", record)
        colleges.append(college)
    return Rewrapped(tuple(colleges), old.id, new.id)


def master_ids_in(folder: KeyFolder) -> set[str]:
    """The master keys the data keys in `folder` are wrapped under (by file name)."""
    return {name.rsplit(".", 2)[-2] for name in folder.names() if name.count(".") >= 2}
