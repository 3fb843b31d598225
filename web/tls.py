"""HTTPS on one machine: a self-signed certificate for a quick start (`python -m web self-signed-cert`).

The certificate names the given hosts plus localhost, 127.0.0.1 and ::1 (SubjectAltName); its P-256 key is
written 0600. Browsers warn about it until it is trusted; a real certificate (the college's CA, Let's Encrypt)
goes in the same two settings, `PROCTOR_TLS_CERT_FILE` and `PROCTOR_TLS_KEY_FILE`.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ALWAYS_NAMED = ("localhost", "127.0.0.1", "::1")
CERT_NAME = "cert.pem"
KEY_NAME = "key.pem"
HOST_NAME = re.compile(
    r"(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)


class CertificateError(ValueError):
    """The certificate cannot be written (files in the way, a bad host name)."""


@dataclass(frozen=True)
class Written:
    cert_file: Path
    key_file: Path
    names: tuple[str, ...]


def tls_folder(data_dir: Path) -> Path:
    """Where the self-signed certificate lives: `tls/` in the data folder."""
    return data_dir / "tls"


def host_names(hosts: Iterable[str]) -> tuple[str, ...]:
    """The given hosts and the local names, each once, in that order."""
    names: list[str] = []
    for host in [*hosts, *ALWAYS_NAMED]:
        name = host.strip().strip("[]")
        if not (_is_ip(name) or HOST_NAME.fullmatch(name)):
            raise CertificateError(f"{host!r} is not a host name (ASCII, punycode for others) or an IP address")
        if name.lower() not in (n.lower() for n in names):
            names.append(name)
    return tuple(names)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _alt_name(name: str) -> x509.GeneralName:
    if _is_ip(name):
        return x509.IPAddress(ipaddress.ip_address(name))
    return x509.DNSName(name)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # whatever the umask
        os.write(fd, data)
    finally:
        os.close(fd)


def write_self_signed(folder: Path, hosts: Iterable[str] = (), days: int = 365, force: bool = False) -> Written:
    """Write `cert.pem` (0644) and `key.pem` (0600) into `folder` (made 0700 if new); existing files are kept
    (CertificateError) unless `force`."""
    if not 1 <= days <= 36500:
        raise CertificateError(f"--days must be between 1 and 36500, not {days}")
    names = host_names(hosts)
    cert_file, key_file = folder / CERT_NAME, folder / KEY_NAME
    existing = [str(p) for p in (cert_file, key_file) if p.exists() or p.is_symlink()]
    if existing and not force:
        raise CertificateError(f"{' and '.join(existing)} already exist; --force replaces them")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, names[0]), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "proctor.kz")]
    )
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([_alt_name(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in (cert_file, key_file):
        if force:
            path.unlink(missing_ok=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_new(key_file, key_pem, 0o600)
    _write_new(cert_file, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return Written(cert_file, key_file, names)


def is_self_signed(cert_file: Path) -> bool:
    """The first certificate of a PEM file is its own issuer (clients must be told to trust it)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    except (OSError, ValueError):
        return False
    return cert.issuer == cert.subject
