"""Signing in to the desk and out of it.

The login form carries a token that must match a cookie set with the form (a login CSRF guard: another site
cannot sign a browser in to an account of its choosing). Attempts go through the login throttle
(footprint/signins.py): failures make the next attempt from that address (or device) wait, longer each time,
with 429 and Retry-After, but an attacker elsewhere can never lock the person out; a browser the person signed
in from before carries a device cookie and has a throttle of its own. An unknown address and a wrong password
get the same answer, in the same time. An address that is someone of several colleges (with the same password)
is asked which college to sign in to.
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from footprint.accounts import CollegeRow
from footprint.people import Person, sign_in
from footprint.signins import (
    DEVICE_DAYS,
    TooManyAttempts,
    begin_attempt,
    device_cookie,
    device_of,
    end_attempt,
    open_sign_in,
    sign_out,
)
from web.deps import Services, ServicesDep
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
DEVICE_COOKIE = "proctor_device"
DEVICE_SECRET = "desk device cookies"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of the desk only (never another site)."""
    if not target:
        return "/desk"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/desk") or target.startswith("//"):
        return "/desk"
    return target


def login_form(
    request: Request,
    settings: Settings,
    *,
    status: int = 200,
    error: str | None = None,
    email: str = "",
    wait_s: int = 0,
    colleges: list[tuple[str, str]] | None = None,
) -> HTMLResponse:
    """The sign-in form, with a fresh login token in the form and in a cookie (`colleges`: the choice of college
    for an address that is someone of several)."""
    token = secrets.token_urlsafe(24)
    values = {
        "token": token,
        "error": error,
        "email": email,
        "wait_s": wait_s,
        "colleges": colleges or [],
        "next": safe_next(request.query_params.get("next")),
    }
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


def _college_names(services: Services, people: list[Person]) -> list[tuple[str, str]]:
    ids = [person.college_id for person in people]
    with services.sessions() as db:
        rows = db.execute(select(CollegeRow.id, CollegeRow.name).where(CollegeRow.id.in_(ids))).all()
    names = {college_id: name for college_id, name in rows}
    return sorted(((college, names.get(college, college)) for college in ids), key=lambda pair: pair[1])


@router.post("/login", response_class=HTMLResponse)
def log_in(
    request: Request,
    services: ServicesDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
    college: Annotated[str, Form(max_length=36)] = "",
) -> Response:
    """Check the credentials (throttled) and start a sign-in."""
    settings = services.settings
    if not csrf_token or not secrets.compare_digest(csrf_token, request.cookies.get(LOGIN_COOKIE, "")):
        return login_form(request, settings, status=403, error="desk.login.expired", email=email)
    client = request.client.host if request.client else "unknown"
    secret = services.secret(DEVICE_SECRET)
    device = device_of(secret, email, request.cookies.get(DEVICE_COOKIE))
    try:
        with services.writing() as db:
            attempt = begin_attempt(db, email, client, device)
    except TooManyAttempts as exc:
        logger.warning("sign-in refused for %s from %s: too soon after failures", email.strip().lower(), client)
        wait = exc.retry_after_s
        response = login_form(request, settings, status=429, error="desk.login.too_many", email=email, wait_s=wait)
        response.headers["Retry-After"] = str(wait)
        return response
    with services.writing() as db:
        people = sign_in(db, email, password, college or None)
        end_attempt(db, attempt, ok=bool(people))
        started = open_sign_in(db, people[0]) if len(people) == 1 else None
    if len(people) > 1:  # the right password of several colleges' person: which college now?
        colleges = _college_names(services, people)
        return login_form(request, settings, email=email, colleges=colleges)
    if started is None:
        return login_form(request, settings, status=401, error="desk.login.failed", email=email)
    logger.info("%s signed in to the desk", started.person.email)
    onward = RedirectResponse(safe_next(next), status_code=303)
    secure = secure_cookies(settings, request)
    set_sign_in_cookie(onward, started, secure)
    onward.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
    onward.set_cookie(
        DEVICE_COOKIE,
        device_cookie(secret, started.person.email),
        max_age=DEVICE_DAYS * 86400,
        path=LOGIN_PATH,
        httponly=True,
        samesite="strict",
        secure=secure,
    )
    return onward


@router.post("/logout")
def log_out(request: Request, services: ServicesDep, _user: CsrfChecked) -> Response:
    """End this sign-in (its cookie no longer opens anything, on any node)."""
    with services.writing() as db:
        sign_out(db, request.cookies.get(COOKIE, ""))
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    clear_sign_in_cookie(response, secure_cookies(services.settings, request))
    return response
