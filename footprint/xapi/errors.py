"""Domain errors of the xAPI store; the web edge maps each to an HTTP status and one JSON shape."""

from __future__ import annotations

from typing import Any


class XAPIError(Exception):
    """Base of xAPI errors: a stable machine code, an HTTP-like status and a readable message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidStatement(XAPIError):
    """A statement (or a request parameter) breaks the xAPI specification."""

    code = "invalid_statement"


class BadRequest(XAPIError):
    """A request is malformed (parameters, headers, body)."""

    code = "bad_request"


class Conflict(XAPIError):
    """A statement id is taken by a different statement, or a document changed under the client."""

    status = 409
    code = "conflict"


class PreconditionFailed(XAPIError):
    """An If-Match / If-None-Match precondition does not hold."""

    status = 412
    code = "precondition_failed"


class NotFound(XAPIError):
    """The statement or document does not exist."""

    status = 404
    code = "not_found"


class Forbidden(XAPIError):
    """The credential may not do this."""

    status = 403
    code = "forbidden"


class PayloadTooLarge(XAPIError):
    """The request body exceeds the configured limit."""

    status = 413
    code = "payload_too_large"
