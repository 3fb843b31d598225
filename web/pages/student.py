"""The candidate's exam page: what the exam link (`/join/TOKEN`) opens.

The page is server-rendered in the candidate's language (so the first screen needs no script to read)
and driven by plain ES modules served from `/assets/student/` (no build step, nothing from outside the
platform). The token stays in the address bar: the page sends it in `Authorization` and in the control
socket's hello, never in another URL, and access logs show `/join/[token]`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import APIRouter, Header, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from proctor.sessions.lifecycle import Status
from proctor.sessions.live import PageView, TokenRefused
from web.deps import SettingsDep
from web.headers import EXAM_PAGE_FEATURES, PAGE_POLICY, permissions_policy
from web.live.routes import LiveDep
from web.pages.i18n import LANGUAGE_NAMES, LANGUAGES, Catalog, catalog, choose_language, family_messages
from web.pages.terms import served_terms

router = APIRouter(include_in_schema=False)

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
STEPS = ("consent", "system-check", "identity", "calibration", "room-scan", "exam", "finish")
FINISHED = frozenset({Status.SUBMITTED, Status.ANALYSED, Status.REVIEWED, Status.CONFIRMED, Status.ANNULLED})
NO_STORE = {"Cache-Control": "no-store"}
HOST = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")

environment = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
)


@dataclass(frozen=True)
class PageText:
    """The message page shown instead of the exam (a bad link, a finished session): title, text, status."""

    title: str
    text: str
    status: int


def frame_source(content_url: str | None) -> str:
    """The origin the exam's content may be framed from (added to the page's Content-Security-Policy); empty
    for anything but a plain http(s) address, which the page then neither frames nor links."""
    if not content_url:
        return ""
    parts = urlsplit(content_url)
    try:
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not HOST.fullmatch(host):
        return ""
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def gone_text(view: PageView, texts: Catalog) -> PageText | None:
    """Why the link no longer opens the exam, or None when it does."""
    if view.status == Status.DECLINED:
        return PageText(texts.text("gone.declined_title"), texts.text("gone.declined"), 410)
    if view.status in FINISHED or view.status == Status.RETAKE:
        return PageText(texts.text("gone.finished_title"), texts.text("gone.finished"), 410)
    if view.closed:
        return PageText(texts.text("gone.closed_title"), texts.text("gone.closed"), 410)
    return None


def render(name: str, status: int, values: dict[str, Any], headers: dict[str, str] | None = None) -> HTMLResponse:
    html = environment.get_template(name).render(**values)
    return HTMLResponse(html, status_code=status, headers={**NO_STORE, **(headers or {})})


@router.get("/join/{token}", response_class=HTMLResponse)
async def student_page(
    token: str,
    live: LiveDep,
    settings: SettingsDep,
    lang: Annotated[str | None, Query(description="kk, ru or en")] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    """The candidate's page for an exam link; a clear page (404 or 410) when the link opens no exam."""
    language = choose_language(lang, accept_language)
    texts = catalog(language)
    common: dict[str, Any] = {"lang": language, "t": texts.text, "languages": LANGUAGE_NAMES}
    try:
        view = await run_in_threadpool(live.records.page_view, token)
    except TokenRefused:
        message = PageText(texts.text("gone.invalid_title"), texts.text("gone.invalid"), 404)
        return render("message.html", message.status, {"message": message, **common})
    gone = gone_text(view, texts)
    if gone is not None:
        return render("message.html", gone.status, {"message": gone, **common})
    if view.opens_at is not None:  # too early: when it opens, and nothing of the exam yet
        when = format_datetime(view.opens_at, "long", tzinfo=ZoneInfo(settings.time_zone), locale=language)
        message = PageText(texts.text("early.title"), texts.text("early.text", when=when), 403)
        return render("message.html", message.status, {"message": message, "opens_at": view.opens_at, **common})
    source = frame_source(view.content_url)
    content_url = view.content_url if source else None
    frames = " ".join(filter(None, ["'self'", source]))
    policy = PAGE_POLICY.replace("default-src 'self';", f"default-src 'self'; frame-src {frames};")
    policy = policy.replace("script-src 'self' 'unsafe-inline'", "script-src 'self'")  # no inline script here
    data = {
        "lang": language,
        "languages": list(LANGUAGES),
        "catalogs": {code: family_messages(code) for code in LANGUAGES},
        "terms": served_terms(settings.retention_days, settings.privacy_contact),
        "steps": list(STEPS),
        "retention_days": settings.retention_days,
        "contact": settings.privacy_contact,
        "gated": view.gated,  # whether the exam step asks for the LMS quiz's password (`GET /live/gate`), not it
    }
    values = {
        "view": view,
        "steps": STEPS,
        "content_url": content_url,
        "retention_days": texts.number(settings.retention_days),
        "contact": settings.privacy_contact,
        "data": json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"),
        **common,
    }
    features = permissions_policy(EXAM_PAGE_FEATURES)  # the exam's camera, microphone and screen; nobody else's
    return render(
        "student.html", 200, values, headers={"Content-Security-Policy": policy, "Permissions-Policy": features}
    )
