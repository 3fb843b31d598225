"""Who is signed in to the desk: a session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS, only sent to
`/desk`) naming a sign-in row, and the CSRF token every form and script of that sign-in must send back.

Nothing else signs in here: an API key, a candidate's join token or no cookie at all is refused with 403 on
every desk page, recording, image and PDF.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from footprint.people import Role
from footprint.signins import SESSION_HOURS, SignedIn, SignIn, csrf_matches, signed_in
from proctor.review.access import Reviewer
from web.deps import ServicesDep
from web.settings import Settings

COOKIE = "proctor_desk"
COOKIE_PATH = "/desk"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class DeskDenied(Exception):
    """A desk request that may not go on: 403 (not signed in, not allowed, a wrong CSRF token) or 404 (nothing
    the signed-in person may see). Pages answer it with a page, scripts and media with the JSON error shape."""

    def __init__(self, status: int, message: str, *, sign_in: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.sign_in = sign_in
        """The page offers the sign-in form (nobody is signed in)."""


def secure_cookies(settings: Settings, request: Request) -> bool:
    """Cookies are Secure when the platform is served over HTTPS (its public URL, or this very request)."""
    return settings.base_url.startswith("https://") or request.url.scheme == "https"


def set_sign_in_cookie(response: Response, sign_in: SignIn, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        sign_in.token,
        max_age=SESSION_HOURS * 3600,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def clear_sign_in_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax", secure=secure)


def current_sign_in(request: Request, services: ServicesDep) -> SignedIn | None:
    """The sign-in of this request's cookie, or None."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    with services.sessions() as db:
        return signed_in(db, token)


OptionalSignInDep = Annotated[SignedIn | None, Depends(current_sign_in)]


def require_sign_in(found: OptionalSignInDep) -> SignedIn:
    if found is None:
        raise DeskDenied(403, "sign in to the examiner desk to see this", sign_in=True)
    return found


DeskUser = Annotated[SignedIn, Depends(require_sign_in)]
"""A signed-in admin or examiner (403 otherwise)."""


def require_admin(user: DeskUser) -> SignedIn:
    if user.person.role != Role.ADMIN:
        raise DeskDenied(403, "only the college's admins may do this")
    return user


DeskAdmin = Annotated[SignedIn, Depends(require_admin)]
"""A signed-in admin of a college (403 otherwise)."""


def reviewer(user: DeskUser) -> Reviewer:
    return Reviewer.of(user.person)


ReviewerDep = Annotated[Reviewer, Depends(reviewer)]


async def require_csrf(request: Request, user: DeskUser) -> SignedIn:
    """A state-changing request of a signed-in person must carry their CSRF token: in the `X-CSRF-Token` header
    (scripts) or the `csrf_token` form field (forms)."""
    given = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if given is None and content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        field = (await request.form()).get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    if not csrf_matches(user.csrf_token, given):
        raise DeskDenied(
            403,
            "this form is out of date or came from another site (CSRF token missing or wrong); "
            "reload the page and try again",
        )
    return user


CsrfChecked = Annotated[SignedIn, Depends(require_csrf)]
"""A signed-in person whose request carries their CSRF token (403 otherwise)."""
