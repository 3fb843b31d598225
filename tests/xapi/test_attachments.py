"""Multipart statement requests (parse, hash check, build) and signed-statement checks."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

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
