"""Signed statements (xAPI Data 2.6): the JWS attachment must be well formed and sign this statement.

A signature attachment (usageType .../attachments/signature) is `application/octet-stream` holding
a compact JWS with alg RS256/RS384/RS512 whose payload is the statement as it was before the
signature was attached. The LRS checks shape and payload so that no statement is stored with a
signature of something else; when the JWS header carries the signer's certificate (`x5c`), the
signature itself must verify with that certificate's key.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from footprint.xapi.canonical import same_statement
from footprint.xapi.errors import BadRequest
from footprint.xapi.parts import Attachment

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
ALGORITHMS: dict[str, hashes.HashAlgorithm] = {
    "RS256": hashes.SHA256(),
    "RS384": hashes.SHA384(),
    "RS512": hashes.SHA512(),
}


def _segment(text: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"the JWS {what} is not base64url") from exc


def _json_segment(text: str, what: str) -> Any:
    try:
        return json.loads(_segment(text, what))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the JWS {what} is not JSON") from exc


def check_signature(statement: Mapping[str, Any], parts: Sequence[Attachment]) -> None:
    """Raise BadRequest unless every signature attachment of the statement is a valid JWS of it."""
    contents = {part.sha2: part.content for part in parts}
    for attachment in statement.get("attachments", []):
        if attachment.get("usageType") != SIGNATURE_USAGE:
            continue
        if attachment.get("contentType", "").split(";")[0].strip().lower() != "application/octet-stream":
            raise BadRequest("a signature attachment must have contentType application/octet-stream")
        content = contents.get(attachment["sha2"].lower())
        if content is None:
            raise BadRequest("a signed statement must carry its JWS as an attachment part")
        pieces = content.decode("ascii", errors="replace").strip().split(".")
        if len(pieces) != 3:
            raise BadRequest("the signature is not a compact JWS (header.payload.signature)")
        header = _json_segment(pieces[0], "header")
        if not isinstance(header, dict) or header.get("alg") not in ALGORITHMS:
            raise BadRequest("the JWS algorithm must be RS256, RS384 or RS512")
        payload = _json_segment(pieces[1], "payload")
        if not isinstance(payload, dict):
            raise BadRequest("the JWS payload is not a statement")
        signature = _segment(pieces[2], "signature")
        if "x5c" in header:
            _verify_x5c(header, f"{pieces[0]}.{pieces[1]}".encode(), signature)
        original = {key: value for key, value in statement.items() if key != "attachments"}
        signed = {key: value for key, value in payload.items() if key != "attachments"}
        if "id" not in signed:
            original.pop("id", None)
        if not same_statement(signed, original):
            raise BadRequest("the JWS payload differs from the statement")


def _verify_x5c(header: Mapping[str, Any], signed: bytes, signature: bytes) -> None:
    """Verify the JWS with the RSA key of the first certificate of its `x5c` chain."""
    chain = header["x5c"]
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
    except (TypeError, IndexError, KeyError, ValueError, binascii.Error) as exc:
        raise BadRequest("the JWS x5c certificate cannot be read") from exc
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadRequest("the JWS x5c certificate does not hold an RSA key")
    try:
        key.verify(signature, signed, padding.PKCS1v15(), ALGORITHMS[header["alg"]])
    except InvalidSignature as exc:
        raise BadRequest("the JWS signature does not verify with its x5c certificate") from exc
