"""The ID card at the door checked against the server's own video, for real: an aiortc client streams the demo's
candidate over WebRTC while the card step is open, and the card still and the face still are posted as the page
posts them. The candidate's own card agrees with what the server saw; a page that sends the card owner's stills
while someone else sits at the camera is caught by the server's pictures, not by the stills it chose."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import Any

import cv2
import httpx
import pytest
from sqlalchemy import select

from footprint.store import make_engine, make_session_factory
from proctor.identity_document.iin import make_iin
from proctor.sessions.tables import IdDocumentRow, SessionRow
from tests.fixtures.fetch import media_path
from tests.fixtures.id_cards import OBAMA, CardPerson, Shot, photograph, render_card
from tests.fixtures.scenarios import Scenario
from tests.live.conftest import LiveMedia, enrol
from tests.servers import LiveServer
from web.live.client import LiveClient
from web.settings import Settings

pytestmark = pytest.mark.slow
POLICY = {"room_scan": {"pre_exam": False}, "identity": {"id_document": "on"}}
STREAMED_S = 10.0
"""The card is posted once the server has received this much of the candidate's video (the demo's first 12 s:
the candidate alone, leaving and coming back)."""


def jpeg(image: Any) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return bytes(data.tobytes())


def received_s(settings: Settings, session_id: str) -> float:
    """How far the session's live video got, as the server records it (every 5 s of media)."""
    engine = make_engine(settings.db_url)
    try:
        with make_session_factory(engine)() as db:
            row = db.get(SessionRow, session_id)
            return float(row.live_last_s or 0.0) if row is not None else 0.0
    finally:
        engine.dispose()


def checks(settings: Settings, session_id: str) -> list[dict[str, Any]]:
    engine = make_engine(settings.db_url)
    try:
        with make_session_factory(engine)() as db:
            rows = db.scalars(
                select(IdDocumentRow).where(IdDocumentRow.session_id == session_id).order_by(IdDocumentRow.attempt)
            )
            return [dict(row.outcome) for row in rows]
    finally:
        engine.dispose()


def test_the_card_is_compared_with_the_face_the_server_saw_in_the_live_video(
    live_server: LiveServer, live_settings: Settings, live_media: LiveMedia, demo: Scenario
) -> None:
    server, settings = live_server, live_settings
    enrolled = enrol(server.url, demo, policy=POLICY)
    candidate = CardPerson(  # the demo's candidate's own card: the portrait cut from their reference photo
        str(demo.reference), "НҰРЛАНОВНА", "ӘЙГЕРІМ", "", make_iin(date(2004, 3, 15), True, 2468), date(2004, 3, 15)
    )
    own_card = jpeg(photograph(render_card(candidate), Shot(card_share=0.8, jpeg_quality=90)))
    owners_card = jpeg(photograph(render_card(OBAMA), Shot(card_share=0.8, jpeg_quality=90)))
    owners_face = media_path("obama3.jpg").read_bytes()

    def post(card: bytes, face: bytes) -> httpx.Response:
        files = {"card": ("card.jpg", card, "image/jpeg"), "face": ("face.jpg", face, "image/jpeg")}
        headers = {"Authorization": f"Bearer {enrolled.token}"}
        return httpx.post(f"{server.url}/live/idcard", files=files, headers=headers)

    async def at_the_door() -> list[httpx.Response]:
        client = LiveClient(server.url, enrolled.token)
        try:
            await client.open()
            await client.consent()
            await client.ready()
            await client.connect(live_media.first)  # the candidate at the camera, in real time
            deadline = time.monotonic() + 120  # only against a hang: the condition is the server's own record
            while received_s(settings, enrolled.session_id) < STREAMED_S:
                assert time.monotonic() < deadline, "the server did not record the live video"
                await asyncio.sleep(0.5)
            own = await asyncio.to_thread(post, own_card, demo.reference.read_bytes())
            lying = await asyncio.to_thread(post, owners_card, owners_face)  # the card owner's stills, not the camera
            return [own, lying]
        finally:
            await client.close()

    answers = asyncio.run(at_the_door())
    assert [answer.status_code for answer in answers] == [200, 200], [answer.text for answer in answers]
    own, lying = checks(settings, enrolled.session_id)

    assert own["stream"]["match"] is True, own["stream"]  # the card's portrait is the person the server saw
    assert own["live"]["match"] is True and "stream_face_mismatch" not in own["problems"]
    assert "stream_face_unverified" not in own["problems"]

    assert lying["live"]["match"] is True  # the stills the page chose agree with each other
    assert lying["stream"]["match"] is False, lying["stream"]  # the server's own video does not
    assert "stream_face_mismatch" in lying["problems"] and not lying["passed"]
    assert lying["stream"]["distance"] > own["stream"]["distance"]
