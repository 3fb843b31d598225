"""Multipart statement requests (parse, hash check, build) and signed-statement checks."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from footprint.xapi.attachments import build_multipart, parse_multipart
from footprint.xapi.errors import BadRequest
from footprint.xapi.parts import Attachment
from footprint.xapi.signatures import SIGNATURE_USAGE, check_signature
from tests.xapi.conftest import statement


def _b64(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _signed(alg: str = "RS256", payload: dict[str, Any] | None = None, content_type: str = "application/octet-stream"):
    data = statement()
    jws = f"{_b64({'alg': alg})}.{_b64(payload or data)}.c2lnbmF0dXJl".encode()
    sha2 = hashlib.sha256(jws).hexdigest()
    meta = {"usageType": SIGNATURE_USAGE, "display": {"en-US": "signature"}, "contentType": content_type}
    signed = {**data, "attachments": [{**meta, "length": len(jws), "sha2": sha2}]}
    return signed, [Attachment(sha2, content_type, jws)]


def test_multipart_round_trip_and_hash_check() -> None:
    content = b"\x00binary evidence\r\n--not-a-boundary"
    sha2 = hashlib.sha256(content).hexdigest()
    body = build_multipart(b'{"a": 1}', [Attachment(sha2, "image/jpeg", content)])
    parsed = parse_multipart(body.content, body.content_type)
    assert parsed.statements == b'{"a": 1}'
    assert parsed.attachments == (Attachment(sha2, "image/jpeg", content),)
    with pytest.raises(BadRequest, match="does not match"):
        parse_multipart(body.content.replace(b"binary", b"BINARY"), body.content_type)
    with pytest.raises(BadRequest, match="boundary"):
        parse_multipart(body.content, "multipart/mixed")


def test_signature_checks() -> None:
    check_signature(*_signed())
    with pytest.raises(BadRequest, match="RS256"):
        check_signature(*_signed(alg="HS256"))
    with pytest.raises(BadRequest, match="differs"):
        check_signature(*_signed(payload=statement(verb="failed")))
    with pytest.raises(BadRequest, match="octet-stream"):
        check_signature(*_signed(content_type="text/plain"))
    signed, _parts = _signed()
    with pytest.raises(BadRequest, match="carry its JWS"):
        check_signature(signed, [])


def test_x5c_signature_must_verify() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lms.college.kz")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
    data = statement()
    signing_input = f"{_b64({'alg': 'RS256', 'x5c': x5c})}.{_b64(data)}"
    good = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())

    def attempt(signature: bytes) -> None:
        jws = f"{signing_input}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}".encode()
        sha2 = hashlib.sha256(jws).hexdigest()
        meta = {"usageType": SIGNATURE_USAGE, "display": {"en-US": "s"}, "contentType": "application/octet-stream"}
        signed = {**data, "attachments": [{**meta, "length": len(jws), "sha2": sha2}]}
        check_signature(signed, [Attachment(sha2, "application/octet-stream", jws)])

    attempt(good)
    with pytest.raises(BadRequest, match="does not verify"):
        attempt(good[:-1] + bytes([good[-1] ^ 1]))
