"""Signing in to the desk and out of it.

The login form carries a token that must match a cookie set with the form (a login CSRF guard: another site
cannot sign a browser in to an account of its choosing). Failed logins are counted per address and per network
address in the database; past the limit the address is refused with 429 — even with the right password — until
the window passes. An unknown address and a wrong password get the same answer, in the same time.
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from footprint.people import sign_in
from footprint.signins import TooManyAttempts, check_login_rate, open_sign_in, record_login, sign_out
from web.deps import ServicesDep
from web.desk.auth import (
    COOKIE,
    CsrfChecked,
    OptionalSignInDep,
    clear_sign_in_cookie,
    secure_cookies,
    set_sign_in_cookie,
)
from web.desk.render import render
from web.settings import Settings

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/desk", include_in_schema=False)

LOGIN_COOKIE = "proctor_login"
LOGIN_PATH = "/desk/login"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of the desk only (never another site)."""
    if not target:
        return "/desk"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/desk") or target.startswith("//"):
        return "/desk"
    return target


def login_form(
    request: Request, settings: Settings, *, status: int = 200, error: str | None = None, email: str = ""
) -> HTMLResponse:
    """The sign-in form, with a fresh login token in the form and in a cookie."""
    token = secrets.token_urlsafe(24)
    values = {"token": token, "error": error, "email": email, "next": safe_next(request.query_params.get("next"))}
    response = render(request, "desk/login.html", {**values, "user": None}, status=status)
    secure = secure_cookies(settings, request)
    response.set_cookie(
        LOGIN_COOKIE, token, max_age=3600, path=LOGIN_PATH, httponly=True, samesite="strict", secure=secure
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, services: ServicesDep, signed: OptionalSignInDep) -> Response:
    """The sign-in page (someone already signed in goes on to the desk)."""
    if signed is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return login_form(request, services.settings)


@router.post("/login", response_class=HTMLResponse)
def log_in(
    request: Request,
    services: ServicesDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the credentials (rate-limited) and start a sign-in."""
    if not csrf_token or not secrets.compare_digest(csrf_token, request.cookies.get(LOGIN_COOKIE, "")):
        return login_form(request, services.settings, status=403, error="desk.login.expired", email=email)
    client = request.client.host if request.client else "unknown"
    try:
        with services.writing() as db:
            check_login_rate(db, email, client)
    except TooManyAttempts as exc:
        logger.warning("sign-in refused for %s from %s: too many failures", email.strip().lower(), client)
        response = login_form(request, services.settings, status=429, error="desk.login.too_many", email=email)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    with services.writing() as db:
        person = sign_in(db, email, password)
        record_login(db, email, client, ok=person is not None)
        started = open_sign_in(db, person) if person is not None else None
    if started is None:
        return login_form(request, services.settings, status=401, error="desk.login.failed", email=email)
    logger.info("%s signed in to the desk", started.person.email)
    onward = RedirectResponse(safe_next(next), status_code=303)
    set_sign_in_cookie(onward, started, secure_cookies(services.settings, request))
    onward.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
    return onward


@router.post("/logout")
def log_out(request: Request, services: ServicesDep, _user: CsrfChecked) -> Response:
    """End this sign-in (its cookie no longer opens anything, on any node)."""
    with services.writing() as db:
        sign_out(db, request.cookies.get(COOKIE, ""))
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    clear_sign_in_cookie(response, secure_cookies(services.settings, request))
    return response
