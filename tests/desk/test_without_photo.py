"""The desk with a candidate who has no reference photo (one who came through the LMS): the session page and the
protocol say so instead of showing a photo, identity is "not checked" (never held against them), and the photo's
address answers 404."""

from __future__ import annotations

import io
import re
from pathlib import Path

from fastapi.testclient import TestClient
from pypdf import PdfReader

from proctor.sessions.job import run_job
from tests.desk.desk_client import HTML, sign_in
from tests.desk.world import World, upload_of
from web.app import create_app
from web.pages.i18n import catalog
from web.platform import build_session_service
from web.services import build_services


def test_a_session_of_a_candidate_without_a_photo_is_reviewed_without_one(
    world: World, media: Path, tmp_path: Path
) -> None:
    services = build_services(world.settings)
    try:
        service = build_session_service(services)
        candidate = service.add_candidate_without_photo(world.college_a, world.exam_a, "S-900", "Ерлан Жанұлы")
        row, _ = service.create_session(world.college_a, world.exam_a, candidate.id)
        service.recordings.accept(world.college_a, row.id, upload_of(media / "single_face.mp4", tmp_path / "in"))
        job = service.analyses.start(row.id)
        assert job is not None and job.embedding is None
        assert service.analyses.finish(run_job(job)) is not None
    finally:
        services.engine.dispose()
    english = catalog("en")
    with TestClient(create_app(world.settings)) as app:
        sign_in(app, world.examiner_a.email)
        page = app.get(f"/desk/sessions/{row.id}", params={"lang": "en"}, headers=HTML)
        assert page.status_code == 200, page.text
        assert english.text("desk.identity.no_reference").replace("'", "&#39;") in page.text
        assert f"/desk/sessions/{row.id}/reference" not in page.text
        assert english.text("desk.identity.not_checked") in page.text
        missing = app.get(f"/desk/sessions/{row.id}/reference")
        assert missing.status_code == 404 and "no reference photo" in missing.json()["error"]["message"]
        assert app.get(f"/desk/sessions/{world.sessions_a[0]}/reference").status_code == 200  # the others have one
        # the other sessions of the exam are still compared with the enrolled photos there are
        other = app.get(f"/desk/sessions/{world.sessions_a[0]}", headers=HTML)
        assert other.status_code == 200 and 'data-match-kind="enrolled_photo"' in other.text
        exam = app.get(f"/desk/exams/{world.exam_a}", params={"lang": "en"}, headers=HTML)
        assert exam.status_code == 200 and re.search(rf'data-session-id="{row.id}"', exam.text)
        pdf = app.get(f"/desk/sessions/{row.id}/protocol.pdf", params={"lang": "en"})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages))
        assert "No reference photo" in text and english.text("desk.identity.not_checked") in text
