"""Media encrypted at rest: AES-256-GCM in 64 KiB segments, so a file is written as a stream and read from any
offset (a video player's range requests seek without decrypting what comes before).

A file is a header — the magic bytes, the data key's id, an 8-byte random nonce prefix — then segments. Segment
`i` is its plaintext (64 KiB, the last one shorter, never empty unless the whole file is) encrypted under the
nonce `prefix ‖ i` (4 bytes, big-endian) with its 16-byte tag. The additional data binds every segment to the
object's storage key, its index and whether it is the last, so a file moved to another key, segments swapped,
reordered or cut off after a segment boundary all fail to decrypt (`MediaIntegrityError`), never read as
something else. The plaintext size follows from the file size alone.

Files without the magic bytes are read as they are: media stored before encryption was turned on (or with it
off) stays readable.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"\x89PKZENC\n"
"""The first bytes of an encrypted object (never the start of an MP4, WebM, MPEG-TS, JPEG or JSON file)."""
SEGMENT = 64 * 1024
TAG = 16
KEY_ID_BYTES = 8
PREFIX_BYTES = 8
HEADER = len(MAGIC) + KEY_ID_BYTES + PREFIX_BYTES
MAX_SEGMENTS = 2**32


class MediaIntegrityError(OSError):
    """An encrypted object that does not decrypt: edited, cut short, moved to another key, or another key's."""


def _additional_data(name: str, index: int, last: bool) -> bytes:
    return b"proctor-kz media\0" + name.encode() + b"\0" + struct.pack(">I?", index, last)


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def plain_size(stored_size: int) -> int:
    """The plaintext size of an encrypted object of `stored_size` bytes."""
    body = stored_size - HEADER
    if body < TAG:
        raise MediaIntegrityError("an encrypted object shorter than one segment")
    segments = -(-body // (SEGMENT + TAG))
    return body - segments * TAG


def encrypt_stream(source: BinaryIO, out: BinaryIO, key: bytes, key_id: bytes, name: str) -> int:
    """Encrypt `source` to `out` as the object `name` under `key`; returns the bytes written."""
    prefix = os.urandom(PREFIX_BYTES)
    cipher = AESGCM(key)
    out.write(MAGIC + key_id + prefix)
    written = HEADER
    index = 0
    block = source.read(SEGMENT)
    while True:
        following = source.read(SEGMENT) if len(block) == SEGMENT else b""
        last = not following
        sealed = cipher.encrypt(_nonce(prefix, index), block, _additional_data(name, index, last))
        out.write(sealed)
        written += len(sealed)
        if last:
            return written
        index += 1
        if index >= MAX_SEGMENTS:
            raise ValueError("an object too large to encrypt")
        block = following


def encrypt_bytes(data: bytes, key: bytes, key_id: bytes, name: str) -> bytes:
    """`data` encrypted as the object `name` (see `encrypt_stream`)."""
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(data), out, key, key_id, name)
    return out.getvalue()


def key_id_of(head: bytes) -> bytes | None:
    """The data key id an object's first bytes name, or None when the object is not encrypted."""
    if len(head) < HEADER or not head.startswith(MAGIC):
        return None
    return head[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES]


class DecryptingReader(io.RawIOBase):
    """An encrypted object read as its plaintext: seekable, one segment decrypted at a time."""

    def __init__(self, handle: BinaryIO, key: bytes, name: str) -> None:
        super().__init__()
        self._handle = handle
        self._cipher = AESGCM(key)
        self._name = name
        handle.seek(0)
        header = handle.read(HEADER)
        if key_id_of(header) is None:
            raise MediaIntegrityError(f"{name} is not an encrypted object")
        self._prefix = header[-PREFIX_BYTES:]
        stored = handle.seek(0, os.SEEK_END)
        self._size = plain_size(stored)
        self._segments = max(1, -(-(stored - HEADER) // (SEGMENT + TAG)))
        self._position = 0
        self._cached: tuple[int, bytes] | None = None

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._position >= self._size:
            return 0
        index, within = divmod(self._position, SEGMENT)
        plain = self._segment(index)
        chunk = plain[within : within + len(buffer)]
        buffer[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)

    def _segment(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        self._handle.seek(HEADER + index * (SEGMENT + TAG))
        sealed = self._handle.read(SEGMENT + TAG)
        last = index == self._segments - 1
        try:
            plain = self._cipher.decrypt(_nonce(self._prefix, index), sealed, _additional_data(self._name, index, last))
        except InvalidTag as exc:
            raise MediaIntegrityError(
                f"{self._name} does not decrypt (segment {index}): edited or not its key"
            ) from exc
        self._cached = (index, plain)
        return plain

    def close(self) -> None:
        if not self.closed:
            self._handle.close()
        super().close()


def open_plaintext(handle: BinaryIO, name: str, key_for: Callable[[bytes], bytes]) -> BinaryIO:
    """`handle` read as plaintext: decrypted with the key `key_for(key id)` names when the object is encrypted, as
    it is otherwise (media stored before encryption was on)."""
    head = handle.read(HEADER)
    handle.seek(0)
    key_id = key_id_of(head)
    if key_id is None:
        return handle
    try:
        reader = DecryptingReader(handle, key_for(key_id), name)
    except BaseException:
        handle.close()
        raise
    return io.BufferedReader(reader, buffer_size=SEGMENT)
