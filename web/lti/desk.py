"""The college's LMS registrations on the desk (admins only): what the LMS admin pastes into the LMS, the
registered platforms, a form to register one, and disabling or enabling one. The same rules as the college API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from footprint.signins import SignedIn
from proctor.lti import registry
from proctor.lti.registration import RegistrationLink, make_link
from proctor.lti.registry import PlatformSpec
from proctor.sessions.errors import InvalidInputError, StateError
from web.deps import ServicesDep, SettingsDep
from web.desk.auth import CsrfChecked, DeskAdmin, DeskDenied
from web.desk.pages import common
from web.desk.render import render
from web.lti.routes import tool_configuration
from web.lti.tool import LtiDep
from web.settings import Settings

router = APIRouter(prefix="/desk", include_in_schema=False)


def lti_page(
    request: Request,
    services: ServicesDep,
    settings: Settings,
    user: SignedIn,
    *,
    status: int = 200,
    error: str = "",
    link: RegistrationLink | None = None,
) -> HTMLResponse:
    with services.sessions() as db:
        platforms = registry.college_platforms(db, user.person.college_id)
    values = {"platforms": platforms, "tool": tool_configuration(settings), "error": error, "link": link}
    return render(request, "desk/lti.html", {**values, **common(user)}, status=status)


@router.get("/lti", response_class=HTMLResponse)
def platforms_page(request: Request, services: ServicesDep, settings: SettingsDep, admin: DeskAdmin) -> Response:
    """The college's LMS registrations."""
    return lti_page(request, services, settings, admin)


@router.post("/lti/platforms", response_class=HTMLResponse)
def register_platform(
    request: Request,
    services: ServicesDep,
    settings: SettingsDep,
    lti: LtiDep,
    user: CsrfChecked,
    name: Annotated[str, Form(max_length=300)],
    issuer: Annotated[str, Form(max_length=500)],
    client_id: Annotated[str, Form(max_length=255)],
    deployment_ids: Annotated[str, Form(max_length=5000)],
    jwks_url: Annotated[str, Form(max_length=2000)],
    auth_url: Annotated[str, Form(max_length=2000)],
    token_url: Annotated[str, Form(max_length=2000)],
) -> Response:
    """Register an LMS (the page again with the reason when it cannot be)."""
    if user.person.role.value != "admin":
        raise DeskDenied(403, "only the college's admins may register an LMS")
    deployments = tuple(part.strip() for part in deployment_ids.replace("\n", ",").split(",") if part.strip())
    spec = PlatformSpec(name, issuer, client_id, deployments, jwks_url, auth_url, token_url)
    try:
        with services.writing() as db:
            registry.register(db, user.person.college_id, spec)
    except (InvalidInputError, StateError) as exc:
        return lti_page(request, services, settings, user, status=422, error=str(exc))
    lti.frames.refresh(services)
    return RedirectResponse("/desk/lti", status_code=303)


@router.post("/lti/registration-link", response_class=HTMLResponse)
def registration_link(request: Request, services: ServicesDep, settings: SettingsDep, user: CsrfChecked) -> Response:
    """A one-time link for the LMS to register itself (LTI Dynamic Registration), shown on the page."""
    if user.person.role.value != "admin":
        raise DeskDenied(403, "only the college's admins may register an LMS")
    with services.writing() as db:
        link = make_link(db, user.person.college_id, settings.base_url)
    return lti_page(request, services, settings, user, link=link)


@router.post("/lti/platforms/{platform_id}/disabled", response_class=HTMLResponse)
def set_disabled(
    platform_id: str,
    services: ServicesDep,
    lti: LtiDep,
    user: CsrfChecked,
    disabled: Annotated[str, Form(pattern="^(true|false)$")],
) -> Response:
    """Disable an LMS (its launches, rosters and grade writes stop) or enable it again."""
    if user.person.role.value != "admin":
        raise DeskDenied(403, "only the college's admins may change an LMS registration")
    with services.writing() as db:
        registry.set_disabled(db, user.person.college_id, platform_id, disabled == "true")
    lti.frames.refresh(services)
    return RedirectResponse("/desk/lti", status_code=303)
