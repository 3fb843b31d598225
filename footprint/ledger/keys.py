"""Ed25519 keys of the ledger: generate, write, load, and the signer that signs checkpoints.

The private key is a PKCS#8 PEM file; it and the verifier key file are written 0600. The public half is
published as the C2SP signed-note verifier key string, the only thing an outside verifier needs.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from footprint.ledger.checkpoint import CheckpointError, verifier_key

logger = logging.getLogger(__name__)

PRIVATE_KEY_FILE = "ledger.key"
VERIFIER_KEY_FILE = "ledger.pub"


@dataclass(frozen=True)
class Signer:
    """The key that signs checkpoints, under the key name written on every signature line."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not self.name or any(c.isspace() or c == "+" for c in self.name):
            raise CheckpointError("a key name is non-empty, without spaces or '+'")

    @property
    def verifier(self) -> str:
        """The verifier key string `name+hexid+base64(0x01 ‖ public key)` to publish."""
        return verifier_key(self.name, self.private_key.public_key())


@dataclass(frozen=True)
class KeyFiles:
    """Where `write_keypair` put the private key and the verifier key string."""

    private_key: Path
    verifier_key: Path


def generate_signer(name: str) -> Signer:
    """A fresh Ed25519 signer."""
    return Signer(name, Ed25519PrivateKey.generate())


def write_keypair(signer: Signer, directory: Path) -> KeyFiles:
    """Write `ledger.key` (PKCS#8 PEM) and `ledger.pub` (verifier key string), both 0600; refuse to overwrite."""
    directory.mkdir(parents=True, exist_ok=True)
    files = KeyFiles(directory / PRIVATE_KEY_FILE, directory / VERIFIER_KEY_FILE)
    for path in (files.private_key, files.verifier_key):
        if path.exists():
            raise CheckpointError(f"{path} already exists; not overwriting a ledger key")
    write_private(files.private_key, private_pem(signer))
    write_private(files.verifier_key, (signer.verifier + "\n").encode("ascii"))
    logger.info("wrote ledger key %s and verifier key %s", files.private_key, files.verifier_key)
    return files


def private_pem(signer: Signer) -> bytes:
    """The signer's private key as the PKCS#8 PEM that `ledger.key` holds."""
    return signer.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def write_private(path: Path, data: bytes) -> None:
    """Write a new file readable by its owner only (0600 whatever the umask: it lives in the private data folder)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def load_signer(path: Path, name: str) -> Signer:
    """Load a PKCS#8 PEM Ed25519 private key; raises CheckpointError if it is anything else."""
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CheckpointError(f"cannot load ledger key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path} is not an Ed25519 private key")
    return Signer(name, key)
