"""Face embeddings encrypted in the database: a column type that seals values on their way in and opens them on
their way out, so the platform's code sees the 128 numbers and the database holds AES-256-GCM ciphertext.

The key is a data key of its own (`FIELDS_KEY`), made and wrapped by the master key beside the colleges' media keys
(proctor/recording/datakeys.py), so a master key rotation rewraps it like the others and the values need no
rewriting. The platform hands it to this process's keyring when it opens its encrypted media store
(web/platform.py). Without a key (media encryption off) values are stored as they are; a stored value without the
marker is read as it is.

A sealed value is `marker ‖ key id (8 bytes) ‖ nonce (12) ‖ ciphertext+tag`; an empty value stays empty (the
mark of an embedding erased by retention or an erasure request).
"""

from __future__ import annotations

import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Dialect, LargeBinary
from sqlalchemy.types import TypeDecorator

MARKER = b"\x89PKZF1"
KEY_ID_BYTES = 8
NONCE_BYTES = 12
FIELDS_KEY = "_fields"
"""The name the fields' data key is kept under among the colleges' (no college id starts with `_`)."""


class SealedFieldError(ValueError):
    """A sealed value whose key this process does not have, or that does not open (edited)."""


class _Keyring:
    def __init__(self) -> None:
        self._keys: dict[bytes, bytes] = {}
        self._current: bytes | None = None
        self._lock = threading.Lock()

    def use(self, key_id: bytes, key: bytes) -> None:
        with self._lock:
            self._keys[key_id] = key
            self._current = key_id

    def seal(self, value: bytes) -> bytes:
        if not value or self._current is None:
            return value
        key_id = self._current
        nonce = os.urandom(NONCE_BYTES)
        return MARKER + key_id + nonce + AESGCM(self._keys[key_id]).encrypt(nonce, value, MARKER + key_id)

    def open(self, value: bytes) -> bytes:
        if not value.startswith(MARKER):
            return value
        start = len(MARKER)
        key_id = value[start : start + KEY_ID_BYTES]
        nonce = value[start + KEY_ID_BYTES : start + KEY_ID_BYTES + NONCE_BYTES]
        key = self._keys.get(key_id)
        if key is None:
            raise SealedFieldError("a sealed embedding under a master key this process does not have")
        try:
            return AESGCM(key).decrypt(nonce, value[start + KEY_ID_BYTES + NONCE_BYTES :], MARKER + key_id)
        except InvalidTag as exc:
            raise SealedFieldError("a sealed embedding does not open: edited") from exc


KEYRING = _Keyring()


def use_field_key(key_id: bytes, key: bytes) -> None:
    """Seal new values under this key (and keep opening values sealed under keys given before)."""
    KEYRING.use(key_id, key)


class SealedBytes(TypeDecorator[bytes]):
    """Binary values encrypted at rest with the process's field key (see the module)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else KEYRING.seal(bytes(value))

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else KEYRING.open(bytes(value))
