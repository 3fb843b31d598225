"""The LTI tool's own pages: a refused launch, the teacher's choice of exam (deep linking), and the small page that
posts a signed answer back to the LMS. Server-rendered in the person's language, no inline script."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from footprint.signins import SignIn
from web.desk.auth import CSRF_FIELD
from web.headers import PAGE_POLICY
from web.lti.tool import origin
from web.pages.i18n import LANGUAGE_NAMES, catalog, choose_language
from web.pages.student import environment

NO_STORE = {"Cache-Control": "no-store"}


def _language(request: Request) -> str:
    return choose_language(request.query_params.get("lang"), request.headers.get("accept-language"))


def _render(
    request: Request, name: str, status: int, values: dict[str, Any], policy: str | None = None
) -> HTMLResponse:
    language = _language(request)
    texts = catalog(language)
    html = environment.get_template(name).render(lang=language, t=texts.text, languages=LANGUAGE_NAMES, **values)
    headers = {**NO_STORE}
    if policy is not None:
        headers["Content-Security-Policy"] = policy
    return HTMLResponse(html, status_code=status, headers=headers)


def refused_page(request: Request, status: int, reason: str) -> HTMLResponse:
    """Why the launch did not go on, and what to do."""
    return _render(request, "lti/message.html", status, {"reason": reason, "status": status})


def deep_link_page(request: Request, sign_in: SignIn, choice: dict[str, Any], zone: str) -> HTMLResponse:
    """The teacher picks one of their exams or makes a new one; the form posts to the desk with its CSRF token."""
    values = {
        "context": choice["context"],
        "exams": choice["exams"],
        "csrf_field": CSRF_FIELD,
        "csrf": sign_in.csrf_token,
        "person": sign_in.person.full_name,
        "zone": zone,
    }
    policy = PAGE_POLICY.replace("script-src 'self' 'unsafe-inline'", "script-src 'self'")
    return _render(request, "lti/deep_link.html", 200, values, policy)


def registered_page(request: Request, name: str) -> HTMLResponse:
    """The LMS registered the tool: say so, and tell the LMS's registration frame to close
    (`org.imsglobal.lti.close`, by `/assets/lti/registered.js`)."""
    policy = PAGE_POLICY.replace("script-src 'self' 'unsafe-inline'", "script-src 'self'")
    return _render(request, "lti/registered.html", 200, {"name": name}, policy)


def autopost(request: Request, action: str, fields: dict[str, str]) -> HTMLResponse:
    """A form posted to the LMS at once by `/assets/lti/autopost.js` (a button when scripts are off); the page's
    policy lets forms go to the LMS's origin only."""
    target = origin(action) or "'none'"
    policy = PAGE_POLICY.replace("form-action 'self'", f"form-action 'self' {target}").replace(
        "script-src 'self' 'unsafe-inline'", "script-src 'self'"
    )
    values = {"action": action, "fields": fields, "fields_json": json.dumps(sorted(fields))}
    return _render(request, "lti/post.html", 200, values, policy)
