"""One JSON error shape for every error the server returns: `{"error": {"code", "message", "details"}}`.

Domain errors (`XAPIError`, ledger errors), request validation errors (400, as xAPI wants, not 422)
and routing errors (404, 405) all pass through here.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from footprint.ledger import CheckpointError, LedgerError, ProofError
from footprint.xapi.errors import XAPIError

logger = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The body of every error response."""
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(status: int, code: str, message: str, details: Any = None, **headers: str) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers or None)


async def _xapi_error(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, XAPIError):  # pragma: no cover - registered for XAPIError only
        raise exc
    return error_response(exc.status, exc.code, exc.message, exc.details)


async def _ledger_error(_request: Request, exc: Exception) -> JSONResponse:
    return error_response(400, "ledger_error", str(exc))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in errors]
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return error_response(400, "invalid_request", f"{where}: {first['msg']}", details)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover
        raise exc
    headers = dict(exc.headers or {})
    message = exc.detail if isinstance(exc.detail, str) else "error"
    return JSONResponse(
        error_body(HTTP_CODES.get(exc.status_code, "error"), message),
        status_code=exc.status_code,
        headers=headers or None,
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the same JSON shape."""
    app.add_exception_handler(XAPIError, _xapi_error)
    for error in (LedgerError, ProofError, CheckpointError):
        app.add_exception_handler(error, _ledger_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
