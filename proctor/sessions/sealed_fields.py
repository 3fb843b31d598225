"""Face embeddings encrypted in the database: a column type that seals values on their way in and opens them on
their way out, so the platform's code sees the 128 numbers and the database holds AES-256-GCM ciphertext.

The key is a data key of its own (`FIELDS_KEY`), made and wrapped by the master key beside the colleges' media keys
(proctor/recording/datakeys.py), so a master key rotation rewraps it like the others and the values need no
rewriting; it is made on the first value sealed. The platform hands the data keys to this process's keyring when it
opens its encrypted media store (web/platform.py). Without a key (media encryption off) values are stored as they
are; a stored value without the marker is read as it is.

A sealed value is `marker ‖ key id (8 bytes) ‖ nonce (12) ‖ ciphertext+tag`; an empty value stays empty (the
mark of an embedding erased by retention or an erasure request).
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Dialect, LargeBinary
from sqlalchemy.types import TypeDecorator

from proctor.recording.datakeys import DataKeyError

MARKER = b"\x89PKZF1"
KEY_ID_BYTES = 8
NONCE_BYTES = 12
FIELDS_KEY = "_fields"
"""The name the fields' data key is kept under among the colleges' (no college id starts with `_`)."""


class SealedFieldError(ValueError):
    """A sealed value whose key this process does not have, or that does not open (edited)."""


class FieldKeys(Protocol):
    """Where the fields' key comes from: the media's data keys (proctor/recording/datakeys.DataKeys)."""

    def current(self, college: str) -> tuple[bytes, bytes]: ...

    def key(self, college: str, key_id: bytes) -> bytes: ...


class _Keyring:
    """The field key sources this process was given; the key is made only when a first value is sealed, so a
    platform without biometric data keeps no key for it."""

    def __init__(self) -> None:
        self._sources: list[FieldKeys] = []
        self._lock = threading.Lock()

    def use(self, source: FieldKeys) -> None:
        with self._lock:
            self._sources = [s for s in self._sources if s is not source] + [source]

    def seal(self, value: bytes) -> bytes:
        with self._lock:
            source = self._sources[-1] if self._sources else None
        if not value or source is None:
            return value
        key_id, key = source.current(FIELDS_KEY)
        nonce = os.urandom(NONCE_BYTES)
        return MARKER + key_id + nonce + AESGCM(key).encrypt(nonce, value, MARKER + key_id)

    def open(self, value: bytes) -> bytes:
        if not value.startswith(MARKER):
            return value
        start = len(MARKER)
        key_id = value[start : start + KEY_ID_BYTES]
        nonce = value[start + KEY_ID_BYTES : start + KEY_ID_BYTES + NONCE_BYTES]
        key = self._find(key_id)
        try:
            return AESGCM(key).decrypt(nonce, value[start + KEY_ID_BYTES + NONCE_BYTES :], MARKER + key_id)
        except InvalidTag as exc:
            raise SealedFieldError("a sealed embedding does not open: edited") from exc

    def _find(self, key_id: bytes) -> bytes:
        with self._lock:
            sources = list(reversed(self._sources))
        for source in sources:
            try:
                return source.key(FIELDS_KEY, key_id)
            except DataKeyError:
                continue
        raise SealedFieldError("a sealed embedding under a key this process does not have (the master key?)")


KEYRING = _Keyring()


def use_field_keys(source: FieldKeys) -> None:
    """Seal new values under this source's fields key (made on first use), and open values under any source given."""
    KEYRING.use(source)


class SealedBytes(TypeDecorator[bytes]):
    """Binary values encrypted at rest with the process's field key (see the module)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else KEYRING.seal(bytes(value))

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else KEYRING.open(bytes(value))
