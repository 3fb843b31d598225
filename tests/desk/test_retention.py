"""Retention reaches what the desk made and kept: evidence thumbnails and the pictures of faces go with the
recording, the ledger says how many, and the desk then answers that they are no longer kept."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from footprint.ledger.tables import EntryRow
from proctor.sessions.tables import SessionFaceRow
from tests.desk.desk_client import HTML, sign_in
from tests.desk.world import World
from web.app import create_app
from web.platform import build_session_service
from web.services import build_services


def test_thumbnails_and_face_pictures_go_with_the_recording(world: World) -> None:
    session = world.sessions_a[0]
    with TestClient(create_app(world.settings)) as app:
        sign_in(app, world.examiner_a.email)
        page = app.get(f"/desk/sessions/{session}", headers=HTML).text
        thumbs = re.findall(r'src="(/desk/sessions/[^"]+/thumb)"', page)
        faces = sorted(set(re.findall(r'src="(/desk/faces/\d+)"', page)))
        assert thumbs and faces
        assert all(app.get(url).status_code == 200 for url in thumbs + faces)
    media = world.data_dir / "media"
    assert list(media.rglob("thumbs/*.jpg")) and list(media.rglob("faces/*.jpg"))
    services = build_services(world.settings)
    try:
        service = build_session_service(services)
        report = service.purge_expired(now=datetime.now(UTC) + timedelta(days=world.settings.retention_days + 1))
        assert report.sessions == 3
        with services.sessions() as db:
            assert all(face.photo_purged_at is not None for face in db.scalars(select(SessionFaceRow)))
            purges = [
                json.loads(bytes(p))
                for p in db.scalars(select(EntryRow.payload).where(EntryRow.kind == "retention_purge"))
            ]
    finally:
        services.engine.dispose()
    assert all(purge["face_photos"] >= 1 for purge in purges)
    assert list(media.rglob("thumbs/*.jpg")) == [] and list(media.rglob("faces/*.jpg")) == []
    with TestClient(create_app(world.settings)) as app:
        sign_in(app, world.examiner_a.email)
        assert all(app.get(url).status_code == 404 for url in thumbs + faces)
