"""The phone's page for the side camera (`/side/TOKEN`).

The phone needs no app: the page asks for its camera (the rear one where there is one), shows a preview, and
records with MediaRecorder, sending parts of the session's `side` track with its own token
(`proctor/sessions/side_camera.py` says what the token may do). Like the candidate's page it is in Kazakh,
Russian or English, runs no inline script, and its token stays in the address bar (access logs show
`/side/[token]`). The candidate's page shows the link and its QR code (`web/pages/qr.py`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from proctor.sessions.live import SessionGone, TokenRefused
from web.headers import PAGE_POLICY, permissions_policy
from web.live.routes import LiveDep
from web.pages.i18n import LANGUAGE_NAMES, LANGUAGES, catalog, choose_language, family_messages
from web.pages.student import PageText, render

router = APIRouter(include_in_schema=False)

PHONE_FEATURES = frozenset({"camera"})
"""The phone records its camera only (no microphone: the candidate's computer records the room's sound)."""
PHONE_POLICY = PAGE_POLICY.replace("script-src 'self' 'unsafe-inline'", "script-src 'self'")


@router.get("/side/{token}", response_class=HTMLResponse)
async def side_page(
    token: str,
    live: LiveDep,
    lang: Annotated[str | None, Query(description="kk, ru or en")] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    """The phone's page: 404 for a link that opens nothing, 410 once the exam is over."""
    language = choose_language(lang, accept_language)
    texts = catalog(language)
    common: dict[str, Any] = {"lang": language, "t": texts.text, "languages": LANGUAGE_NAMES}
    try:
        await run_in_threadpool(live.service.side_cameras.ticket, token)
    except TokenRefused:
        message = PageText(texts.text("gone.invalid_title"), texts.text("side.invalid"), 404)
        return render("message.html", message.status, {"message": message, **common})
    except SessionGone:
        message = PageText(texts.text("gone.finished_title"), texts.text("side.over"), 410)
        return render("message.html", message.status, {"message": message, **common})
    data = {
        "lang": language,
        "languages": list(LANGUAGES),
        "catalogs": {code: family_messages(code) for code in LANGUAGES},
    }
    values = {"data": json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"), **common}
    headers = {"Content-Security-Policy": PHONE_POLICY, "Permissions-Policy": permissions_policy(PHONE_FEATURES)}
    return render("phone.html", 200, values, headers=headers)
