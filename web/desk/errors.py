"""Refusals on the desk: a browser navigating gets a page in its language (with the sign-in form's link when
nobody is signed in), scripts, pictures and videos get the platform's JSON error shape."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from proctor.review.access import NotAllowedError
from web.desk.auth import DeskDenied
from web.desk.render import denied_page, wants_page
from web.errors import HTTP_CODES, error_response


def desk_refusal(request: Request, denied: DeskDenied) -> Response:
    if wants_page(request):
        return denied_page(request, denied)
    return error_response(denied.status, HTTP_CODES.get(denied.status, "error"), denied.message)


def is_desk_page(request: Request) -> bool:
    return request.url.path.startswith("/desk") and wants_page(request)


async def _denied(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, DeskDenied):  # pragma: no cover - registered for DeskDenied only
        raise exc
    return desk_refusal(request, exc)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return desk_refusal(request, DeskDenied(403, str(exc)))


def install_desk_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DeskDenied, _denied)
    app.add_exception_handler(NotAllowedError, _not_allowed)
