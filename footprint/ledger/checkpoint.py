"""C2SP tlog-checkpoint signed notes with Ed25519 (https://c2sp.org/tlog-checkpoint, /signed-note).

A checkpoint is the text `origin\\nsize\\nbase64(root)\\n`; the signed note appends a blank line and
`— <key name> <base64(key id ‖ signature)>`, where the key id is the first four bytes of
SHA-256(key name ‖ "\\n" ‖ 0x01 ‖ public key). Anyone holding the verifier key string
`name+hexid+base64(0x01 ‖ public key)` can check it offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"
SIGNATURE_PREFIX = "\u2014 "


class CheckpointError(ValueError):
    """A checkpoint or a verifier key is malformed, or a signature does not verify."""


class SignatureError(CheckpointError):
    """A well-formed note that carries no valid signature by the verifier's key (edited, or signed by another)."""


@dataclass(frozen=True)
class Checkpoint:
    """The signed statement about the log: its origin, size and root hash."""

    origin: str
    tree_size: int
    root_hash: bytes

    def body(self) -> str:
        """The checkpoint text that gets signed."""
        return f"{self.origin}\n{self.tree_size}\n{base64.b64encode(self.root_hash).decode()}\n"


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint and the full signed-note text that carries it."""

    checkpoint: Checkpoint
    note: str


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The signed-note key id: the first 4 bytes of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key)."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + raw).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The signed-note verifier key string: `name+hexid+base64(0x01 ‖ public key)`."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return f"{name}+{key_id(name, public_key).hex()}+{base64.b64encode(ED25519 + raw).decode()}"


@dataclass(frozen=True)
class VerifierKey:
    """A parsed verifier key string: the key name and its Ed25519 public key."""

    name: str
    public_key: Ed25519PublicKey


def parse_verifier_key(text: str) -> VerifierKey:
    """Name and public key of a verifier key string; raises CheckpointError if malformed."""
    try:
        name, hex_id, encoded = text.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        if raw[:1] != ED25519 or len(raw) != 33:
            raise CheckpointError("verifier key is not an Ed25519 key")
        public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    except (ValueError, binascii.Error) as exc:
        raise CheckpointError(f"malformed verifier key ({exc})") from exc
    if key_id(name, public_key).hex() != hex_id:
        raise CheckpointError("verifier key id does not match its name and key")
    return VerifierKey(name, public_key)


def _split(note: str) -> tuple[str, str]:
    """Text (with its final newline) and signature block: the note splits at its last blank line."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise CheckpointError("a signed note is text, a blank line, and newline-terminated signature lines")
    return text + "\n", signatures


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """A C2SP signed note: `text` (ending in a newline), a blank line, `— name base64(key id ‖ signature)`."""
    if not text.endswith("\n"):
        raise CheckpointError("a note's text ends with a newline")
    blob = base64.b64encode(key_id(name, private_key.public_key()) + private_key.sign(text.encode())).decode()
    return f"{text}\n{SIGNATURE_PREFIX}{name} {blob}\n"


def open_note(note: str, verifier: str) -> str:
    """The text of a signed note once its signature by the verifier's key checks out; signatures by other
    keys are skipped, as the signed-note spec asks."""
    key = parse_verifier_key(verifier)
    text, signatures = _split(note)
    expected_id = key_id(key.name, key.public_key)
    for line in signatures.splitlines():
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(f"malformed signature line {line!r}")
        line_name, _, blob = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error as exc:
            raise CheckpointError("signature is not base64") from exc
        if line_name != key.name or raw[:4] != expected_id:
            continue  # a signature by some other key
        try:
            key.public_key.verify(raw[4:], text.encode())
        except InvalidSignature as exc:
            raise SignatureError("note signature does not verify") from exc
        return text
    raise SignatureError(f"no signature by {key.name} on this note")


def signature_keys(note: str) -> tuple[tuple[str, bytes], ...]:
    """The key name and key id of each signature line of a signed note, in order (signatures not checked)."""
    keys: list[tuple[str, bytes]] = []
    for line in _split(note)[1].splitlines():
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(f"malformed signature line {line!r}")
        name, _, blob = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error as exc:
            raise CheckpointError("signature is not base64") from exc
        keys.append((name, raw[:4]))
    return tuple(keys)


def cosign_note(note: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note with one more signature line, by `private_key` under `name`, over the same text."""
    text, signatures = _split(note)
    if (name, key_id(name, private_key.public_key())) in signature_keys(note):
        raise CheckpointError(f"the note is signed by this key of {name} already")
    blob = base64.b64encode(key_id(name, private_key.public_key()) + private_key.sign(text.encode())).decode()
    return f"{text}\n{signatures}{SIGNATURE_PREFIX}{name} {blob}\n"


def sign(checkpoint: Checkpoint, name: str, private_key: Ed25519PrivateKey) -> SignedCheckpoint:
    """Sign a checkpoint as a C2SP signed note."""
    return SignedCheckpoint(checkpoint, sign_note(checkpoint.body(), name, private_key))


def verify(note: str, verifier: str) -> Checkpoint:
    """Check a signed checkpoint's signature against the verifier key string; return the checkpoint."""
    return parse_checkpoint(open_note(note, verifier))


def parse_checkpoint(body: str) -> Checkpoint:
    """Origin, size and root of a checkpoint body (extension lines after the root are ignored)."""
    lines = body.split("\n")
    if len(lines) < 4 or not lines[0]:
        raise CheckpointError("a checkpoint has an origin, a size and a root hash line")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise CheckpointError(f"malformed checkpoint ({exc})") from exc
    if size < 0 or str(size) != lines[1] or len(root) != 32:
        raise CheckpointError("malformed checkpoint size or root hash")
    return Checkpoint(lines[0], size, root)


def read_note(note: str) -> Checkpoint:
    """The checkpoint a signed note carries, without checking its signature (for stored, trusted notes)."""
    return parse_checkpoint(_split(note)[0])
