"""A live session of a candidate without a reference photo (one who came through the LMS): there is nothing to check
the face against, so the identity check is over at once as "not checked" (technical, never held against the
candidate) and the exam goes on; the analysis checks no identity."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from proctor.sessions.tables import ExamRow
from tests.live.conftest import KEY, NO_PRE_EXAM_SCAN, LiveMedia, api
from tests.servers import LiveServer
from web.live.client import LiveClient
from web.live.session import IDENTITY_TIMEOUT_S
from web.platform import build_session_service
from web.services import build_services
from web.settings import Settings

pytestmark = pytest.mark.slow


def test_a_candidate_without_a_photo_goes_on_at_once_identity_not_checked(
    live_server: LiveServer, live_media: LiveMedia, tmp_path: Path
) -> None:
    with api(live_server) as client:
        made = client.post(
            "/api/v1/exams", json={"title": "Final: Welding", "attestation": "final", "policy": NO_PRE_EXAM_SCAN}
        )
        assert made.status_code == 201, made.text
    exam_id = made.json()["id"]
    services = build_services(Settings(data_dir=tmp_path / "data", bootstrap_api_key=KEY))  # the server's own
    try:
        service = build_session_service(services)
        with service.sessions() as db:
            exam = db.get(ExamRow, exam_id)
            assert exam is not None
            college = exam.college_id
        candidate = service.add_candidate_without_photo(college, exam_id, "lti-7f3a", "Arman Bekov")
        row, token = service.create_session(college, exam_id, candidate.id)
    finally:
        services.engine.dispose()

    async def session() -> list[dict[str, object]]:
        page = LiveClient(live_server.url, token)
        try:
            await page.open()
            await page.consent()
            await page.ready()
            await page.connect(live_media.first)
            over = IDENTITY_TIMEOUT_S / 3  # at once, not after the time a face is waited for
            await page.wait_for(lambda m: m.get("type") == "identity" and m.get("state") == "not_checked", over)
            await page.wait_for(lambda m: m.get("state") == "in_progress", 30)
            await asyncio.sleep(3.0)
            await page.finish()
            return page.messages
        finally:
            await page.close()

    messages = asyncio.run(session())
    assert not [m for m in messages if m.get("type") == "identity" and m.get("state") == "mismatch"]
    with api(live_server) as client:
        stored = client.get(f"/api/v1/sessions/{row.id}").json()
    assert stored["identity"] == "not_checked" and stored["status"] == "analysed", stored
