"""`multipart/mixed` statement requests and responses (xAPI attachments).

The first part carries the statement(s) as JSON; each later part carries one attachment's raw
bytes with an `X-Experience-API-Hash` header that must equal the SHA-2 of those bytes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from footprint.xapi.errors import BadRequest
from footprint.xapi.parts import Attachment

HASHES = {56: hashlib.sha224, 64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}


@dataclass(frozen=True)
class MultipartStatements:
    """A parsed multipart statement request: the JSON part and the attachment parts."""

    statements: bytes
    attachments: tuple[Attachment, ...]


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a multipart content type."""
    match = re.search(r'boundary="?([^";]+)"?', content_type, flags=re.IGNORECASE)
    if match is None:
        raise BadRequest("multipart/mixed request without a boundary")
    return match.group(1)


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("latin-1").split("\r\n"):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(f"malformed multipart header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def digest(content: bytes, algorithm_of: str) -> str:
    """SHA-2 hex digest of the content, of the length of the declared hash (SHA-256 by default)."""
    return HASHES.get(len(algorithm_of), hashlib.sha256)(content).hexdigest()


def parse_multipart(body: bytes, content_type: str) -> MultipartStatements:
    """Split a multipart/mixed statement request and check every part's hash."""
    delimiter = b"--" + boundary_of(content_type).encode()
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        raise BadRequest("multipart/mixed request without parts")
    parts: list[tuple[dict[str, str], bytes]] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise BadRequest("multipart part without a blank line after its headers")
        parts.append((_headers(head), content.removesuffix(b"\r\n")))
    if not parts:
        raise BadRequest("multipart/mixed request without parts")
    first_headers, first = parts[0]
    if not first_headers.get("content-type", "").lower().startswith("application/json"):
        raise BadRequest("the first part of a multipart statement request must be application/json")
    attachments: list[Attachment] = []
    for headers, content in parts[1:]:
        declared = headers.get("x-experience-api-hash", "").lower()
        if not declared:
            raise BadRequest("an attachment part lacks its X-Experience-API-Hash header")
        if headers.get("content-transfer-encoding", "binary").lower() != "binary":
            raise BadRequest("attachment parts must use Content-Transfer-Encoding: binary")
        if digest(content, declared) != declared:
            raise BadRequest(f"attachment content does not match its hash {declared}")
        attachments.append(Attachment(declared, headers.get("content-type", "application/octet-stream"), content))
    return MultipartStatements(first, tuple(attachments))


@dataclass(frozen=True)
class MultipartBody:
    """A multipart/mixed response body and its content type."""

    content: bytes
    content_type: str


def build_multipart(statements: bytes, attachments: Sequence[Attachment]) -> MultipartBody:
    """The multipart/mixed response for `attachments=true`: JSON first, then each attachment."""
    boundary = secrets.token_hex(16)
    out = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(), statements, b"\r\n"]
    for attachment in attachments:
        head = (
            f"--{boundary}\r\nContent-Type: {attachment.content_type}\r\n"
            f"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {attachment.sha2}\r\n\r\n"
        )
        out += [head.encode(), attachment.content, b"\r\n"]
    out.append(f"--{boundary}--\r\n".encode())
    return MultipartBody(b"".join(out), f'multipart/mixed; boundary="{boundary}"')
