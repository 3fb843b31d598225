"""Rendering the desk's pages: the language of a request (`?lang=`, then the desk's language cookie, then the
browser's, then Kazakh), the templates under `web/pages/templates/desk/`, and locale formats for times and
numbers. The desk's texts live in `web/pages/locale/desk/{kk,ru,en}.po`."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from babel.dates import format_datetime
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from web.desk.auth import COOKIE_PATH, DeskDenied
from web.headers import PAGE_POLICY
from web.pages.i18n import LANGUAGE_NAMES, LANGUAGES, Catalog, catalog, choose_language, family_messages
from web.pages.student import TEMPLATES

LANGUAGE_COOKIE = "desk_lang"
NO_STORE = {"Cache-Control": "no-store"}
GZIP_FROM = 4096
"""Pages larger than this go compressed to browsers that accept it (only pages: recordings keep their byte ranges)."""
DESK_POLICY = PAGE_POLICY.replace("script-src 'self' 'unsafe-inline'", "script-src 'self'")
"""No inline script on desk pages: their data travels as JSON in <script type="application/json">."""

environment = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
)


def clock(seconds: float | None) -> str:
    """A time on a session's timeline: m:ss, or h:mm:ss from an hour on."""
    if seconds is None:
        return "–"
    whole = max(0, int(round(seconds)))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


environment.filters["clock"] = clock


def request_language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(LANGUAGE_COOKIE)
    return kept if kept in LANGUAGES else choose_language(None, request.headers.get("accept-language"))


def when_in(texts: Catalog) -> Callable[[datetime | None], str]:
    def when(moment: datetime | None) -> str:
        if moment is None:
            return "–"
        return format_datetime(moment, "medium", locale=texts.language)

    return when


def render(
    request: Request, name: str, values: dict[str, Any], *, status: int = 200, script_data: dict[str, Any] | None = None
) -> HTMLResponse:
    """A desk page in the request's language; `script_data` reaches the page's modules as JSON, with the desk's
    texts in every language."""
    language = request_language(request)
    texts = catalog(language)
    data = {"lang": language, "catalogs": {language: family_messages(language, "desk")}}
    data.update(script_data or {})
    page = environment.get_template(name).render(
        lang=language,
        t=texts.text,
        number=texts.number,
        when=when_in(texts),
        languages=LANGUAGE_NAMES,
        path=request.url.path,
        data=json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"),
        **values,
    )
    headers = {**NO_STORE, "Content-Security-Policy": DESK_POLICY, "Vary": "Accept-Encoding"}
    body = page.encode()
    if len(body) > GZIP_FROM and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=5)  # a long session's page shrinks about tenfold
        headers["Content-Encoding"] = "gzip"
    response = HTMLResponse(body, status_code=status, headers=headers)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, path=COOKIE_PATH, samesite="lax")
    return response


def wants_page(request: Request) -> bool:
    """Whether a desk request is a page (a browser navigating) rather than a script, an image or a video."""
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith("/desk/api/")


def denied_page(request: Request, denied: DeskDenied) -> HTMLResponse:
    """The page for a refused desk request: why, and a way to sign in when nobody is."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(
        request,
        "desk/message.html",
        {"status": denied.status, "message": denied.message, "sign_in": denied.sign_in, "next": target, "user": None},
        status=denied.status,
    )
