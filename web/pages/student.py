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

from footprint.ledger.entries import LedgerEntry
from proctor.policy import policy_from_dict
from proctor.sessions.id_documents import MAX_ATTEMPTS as ID_CARD_ATTEMPTS
from proctor.sessions.lifecycle import Status
from proctor.sessions.live import LIVE_RUN, PageView, TokenRefused
from proctor.sessions.store import SessionStore
from web.deps import SettingsDep
from web.headers import EXAM_PAGE_FEATURES, PAGE_POLICY, permissions_policy
from web.live.routes import LiveDep
from web.live.session import IDENTITY_TIMEOUT_S
from web.pages.i18n import LANGUAGE_NAMES, LANGUAGES, Catalog, catalog, choose_language, family_messages
from web.pages.qr import qr_image, side_url
from web.pages.terms import served_terms

router = APIRouter(include_in_schema=False)

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
STEPS = ("consent", "system-check", "id-card", "identity", "calibration", "room-scan", "exam", "finish")
OPTIONAL_STEPS = frozenset({"id-card"})
"""Steps only some exams have: the ID card where the policy asks for it (`identity.id_document: on`)."""
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


def page_steps(policy: dict[str, Any]) -> tuple[str, ...]:
    """The steps this exam's page shows (the ID card only where the exam's policy asks for it)."""
    wanted = {"id-card"} if policy_from_dict(policy).identity.id_document == "on" else set()
    return tuple(step for step in STEPS if step not in OPTIONAL_STEPS or step in wanted)


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
    steps = page_steps(view.policy)
    side_link = None
    if policy_from_dict(view.policy).side_camera.required:  # the phone's link, shown on the system check
        side_token = await run_in_threadpool(live.service.side_cameras.link, token)
        side_link = side_url(settings.base_url, side_token) if side_token else None
    data = {
        "lang": language,
        "languages": list(LANGUAGES),
        "catalogs": {code: family_messages(code) for code in LANGUAGES},
        "terms": served_terms(settings.retention_days, settings.privacy_contact),
        "steps": list(steps),
        "id_card": "id-card" in steps,  # the exam asks for the ID card at the door (`POST /live/idcard`)
        "id_card_attempts": ID_CARD_ATTEMPTS,  # the server's limit of card stills
        "retention_days": settings.retention_days,
        "contact": settings.privacy_contact,
        "identity_timeout_s": IDENTITY_TIMEOUT_S,  # how long the identity check may take (the server's limit)
        "gated": view.gated,  # whether the exam step asks for the LMS quiz's password (`GET /live/gate`), not it
    }
    values = {
        "view": view,
        "steps": steps,
        "identity_timeout_s": f"{IDENTITY_TIMEOUT_S:g}",
        "content_url": content_url,
        "side_link": side_link,
        "side_qr": qr_image(side_link) if side_link else None,
        "retention_days": texts.number(settings.retention_days),
        "contact": settings.privacy_contact,
        "data": json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"),
        **common,
    }
    features = permissions_policy(EXAM_PAGE_FEATURES)  # the exam's camera, microphone and screen; nobody else's
    return render(
        "student.html", 200, values, headers={"Content-Security-Policy": policy, "Permissions-Policy": features}
    )


@dataclass(frozen=True)
class Receipt:
    """What a candidate keeps of a finished exam: the ledger entries of its result and of its sealed recording (the
    record as the ledger holds it), and a signed checkpoint whose tree holds them."""

    entries: list[tuple[str, LedgerEntry]]
    tree_size: int
    root_hash: str
    note: str


def read_receipt(store: SessionStore, session_id: str) -> Receipt:
    """The session's entries and the newest checkpoint, signing one only when none holds them yet."""
    wanted = (
        ("receipt.result", "proctoring_analysis", f"{session_id}/{LIVE_RUN}"),
        ("receipt.seal", "recording_sealed", session_id),
    )
    with store.write() as db:
        found = [(label, store.ledger.entry_for(db, kind, record)) for label, kind, record in wanted]
        entries = [(label, entry) for label, entry in found if entry is not None]
        signed = store.ledger.latest_checkpoint(db)
        if signed is None or any(entry.index >= signed.checkpoint.tree_size for _, entry in entries):
            signed = store.ledger.checkpoint(db)
    checkpoint = signed.checkpoint
    return Receipt(entries, checkpoint.tree_size, checkpoint.root_hash.hex(), signed.note)


def verify_lines(base: str, receipt: Receipt) -> list[str]:
    """The commands that prove each entry offline against the checkpoint on the receipt."""
    lines = [
        "# save the signed checkpoint above as checkpoint.txt and each record as record-N.json, then:",
        f"curl {base}/ledger/public-key > ledger.pub",
    ]
    for number, (_, entry) in enumerate(receipt.entries, start=1):
        query = f"leafHash={entry.leaf_hash.hex()}&treeSize={receipt.tree_size}"
        lines += [
            f"curl '{base}/ledger/proof/inclusion?{query}' > proof-{number}.json",
            f"footprint verify inclusion --statement record-{number}.json --proof proof-{number}.json "
            "--checkpoint checkpoint.txt --public-key ledger.pub",
        ]
    return lines


@router.get("/join/{token}/receipt", response_class=HTMLResponse)
async def receipt_page(
    token: str,
    live: LiveDep,
    settings: SettingsDep,
    lang: Annotated[str | None, Query(description="kk, ru or en")] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    """The printable receipt of a finished exam, for whoever holds its link (the join token in the path): the
    session, its ledger entries and the signed checkpoint to verify them against, and how. 404 for a link that
    opens nothing, 409 before the exam is finished."""
    language = choose_language(lang, accept_language)
    texts = catalog(language)
    common: dict[str, Any] = {"lang": language, "t": texts.text, "languages": LANGUAGE_NAMES}
    try:
        view = await run_in_threadpool(live.records.page_view, token)
    except TokenRefused:
        message = PageText(texts.text("gone.invalid_title"), texts.text("gone.invalid"), 404)
        return render("message.html", message.status, {"message": message, **common})
    if view.status not in FINISHED:
        message = PageText(texts.text("receipt.not_yet_title"), texts.text("receipt.not_yet"), 409)
        return render("message.html", message.status, {"message": message, **common})
    receipt = await run_in_threadpool(read_receipt, live.service.store, view.session_id)
    zone = ZoneInfo(settings.time_zone)
    values = {
        "view": view,
        "receipt": receipt,
        "records": [
            (
                label,
                entry,
                entry.payload.decode("utf-8", "replace"),
                format_datetime(entry.appended_at, "long", tzinfo=zone, locale=language),
            )
            for label, entry in receipt.entries
        ],
        "commands": verify_lines(settings.base_url, receipt),
        **common,
    }
    policy = PAGE_POLICY.replace("script-src 'self' 'unsafe-inline'", "script-src 'self'")  # no inline script here
    return render("printable-receipt.html", 200, values, headers={"Content-Security-Policy": policy})
