"""The protocol PDF of a session for the attestation file, made with WeasyPrint from an HTML template in the
reviewer's language (DejaVu fonts from Debian render Kazakh and Russian). Pictures travel inside the HTML as data
URIs; the renderer fetches nothing else (no network, no file)."""

from __future__ import annotations

import base64
import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from proctor.review.protocol import ProtocolData, protocol_data, protocol_pictures
from proctor.sessions.id_documents import card_records
from web.access_trail import Actor, record_access
from web.deps import ServicesDep
from web.desk.auth import ReviewerDep
from web.desk.render import clock, environment, request_language, when_in
from web.pages.i18n import catalog
from web.platform import PlatformDep, SessionPlatform

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/desk", include_in_schema=False)


def data_uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def render_protocol(platform: SessionPlatform, data: ProtocolData, language: str) -> bytes:
    """The PDF bytes (CPU-heavy: call it off the event loop)."""
    from weasyprint import HTML, URLFetcher  # imported on first use: it takes a while and most servers never print

    texts = catalog(language)
    pictures = protocol_pictures(platform.service.store, data.view)
    with platform.service.sessions() as db:
        id_cards = card_records(db, data.view.session_id)
    card_pictures: dict[int, str] = {}
    for card in id_cards:
        if card.picture_key is not None:
            try:
                with platform.service.storage.open(card.picture_key) as handle:
                    card_pictures[card.attempt] = data_uri(handle.read())
            except FileNotFoundError:
                continue
    html = environment.get_template("desk/protocol.html").render(
        p=data,
        v=data.view,
        reference=data_uri(pictures.reference) if pictures.reference else None,
        evidence={seq: data_uri(jpeg) for seq, jpeg in pictures.evidence.items()},
        faces={face: data_uri(jpeg) for face, jpeg in pictures.faces.items()},
        references={session: data_uri(jpeg) for session, jpeg in pictures.references.items()},
        id_cards=id_cards,
        card_pictures=card_pictures,
        lang=language,
        t=texts.text,
        number=texts.number,
        when=when_in(texts),
        clock=clock,
    )
    only_inline = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    pdf: bytes = HTML(string=html, url_fetcher=only_inline).write_pdf()
    return pdf


@router.get("/sessions/{session_id}/protocol.pdf")
async def protocol_pdf(
    request: Request, session_id: str, reviewer: ReviewerDep, platform: PlatformDep, services: ServicesDep
) -> Response:
    """The session's protocol: candidate, exam, identity, room scans, events with pictures, decisions, and the
    ledger checkpoint with an inclusion proof of every decision. Each download is written to the access trail."""
    data = await run_in_threadpool(protocol_data, platform.service.store, reviewer, session_id)
    pdf = await run_in_threadpool(render_protocol, platform, data, request_language(request))
    actor = Actor.person(reviewer)
    await run_in_threadpool(record_access, services, reviewer.college_id, actor, "protocol", session_id, request)
    name = f"protocol-{session_id[:8]}.pdf"
    headers = {"Cache-Control": "private, no-store", "Content-Disposition": f'inline; filename="{name}"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
