"""Personal-data requests through the college API: a person's data exported (what, why, until when, who saw it), a
hold that keeps an appealed session from retention and erasure, an erasure that leaves none of the person's media
while every proof still verifies, and retention periods per college — each college's people its own."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from footprint.audit import audit
from footprint.ledger.tables import EntryRow
from proctor.sessions.tables import CandidateRow, ChunkRow, EventRow, SessionFaceRow, SessionRow
from tests.desk.desk_client import sign_in
from tests.desk.world import World
from web.app import create_app
from web.platform import build_session_service, media_storage
from web.services import build_services


def _api(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _plain_hashes(world: World) -> dict[str, str]:
    """sha256 of every stored object's plaintext, by key (read through the encrypted store)."""
    storage = media_storage(world.settings)
    found = {}
    root = world.settings.media_path
    for path in root.rglob("*"):
        if path.is_file() and not path.name.startswith(".") and ".datakeys" not in path.parts:
            key = path.relative_to(root).as_posix()
            with storage.open(key) as handle:
                found[key] = hashlib.sha256(handle.read()).hexdigest()
    return found


def _raw_hashes(root: Path) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def test_a_person_s_data_is_exported_with_purposes_periods_and_who_saw_it(world: World) -> None:
    session = world.sessions_a[0]
    with TestClient(create_app(world.settings)) as app:
        sign_in(app, world.examiner_a.email)
        assert app.get(f"/desk/sessions/{session}/recording").status_code == 200
        answer = app.get("/api/v1/people/S-001/data", headers=_api(world.key_a))
        assert answer.status_code == 200, answer.text
        assert app.get("/api/v1/people/S-001/data", headers=_api(world.key_b)).status_code == 404
        assert app.get("/api/v1/people/B-001/data", headers=_api(world.key_a)).status_code == 404
    data = answer.json()
    assert data["external_id"] == "S-001" and set(data["purposes"]) >= {"reference_photo", "recordings", "faces"}
    (enrolment,) = data["enrolments"]
    assert enrolment["reference_photo"]["kept"] and enrolment["reference_photo"]["kept_until"]
    (kept,) = enrolment["sessions"]
    assert kept["session_id"] == session and kept["recordings"]["pieces"] >= 1
    assert kept["evidence_pictures"]["count"] >= 1 and kept["faces_seen"]["count"] >= 1
    assert kept["recordings"]["kept_until"] > datetime.now(UTC).date().isoformat()
    assert any(e["type"] for e in kept["events"])
    (seen,) = [r for r in data["seen_by"] if r["what"] == "recording"]
    assert seen["actor_name"] == world.examiner_a.email and seen["object"] == session


def test_a_hold_keeps_an_appealed_session_from_erasure_and_retention(world: World) -> None:
    held = world.sessions_a[0]
    with TestClient(create_app(world.settings)) as app:
        answer = app.put(f"/api/v1/sessions/{held}/hold", json={"reason": "appeal"}, headers=_api(world.key_a))
        assert answer.status_code == 200 and answer.json()["reason"] == "appeal"
        assert (
            app.put(f"/api/v1/sessions/{held}/hold", json={"reason": "x"}, headers=_api(world.key_b)).status_code == 404
        )
        refused = app.post("/api/v1/people/S-001/erasure", headers=_api(world.key_a))
        assert refused.status_code == 409 and "hold" in refused.text
    services = build_services(world.settings)
    try:
        service = build_session_service(services)
        service.purge_expired(now=datetime.now(UTC) + timedelta(days=world.settings.retention_days + 1))
        with services.sessions() as db:
            assert db.get(SessionRow, held).media_purged_at is None  # type: ignore[union-attr]
            assert db.scalar(select(ChunkRow.id).where(ChunkRow.session_id == held, ChunkRow.purged_at.is_(None)))
            assert db.get(SessionRow, world.sessions_a[1]).media_purged_at is not None  # type: ignore[union-attr]
            assert db.get(SessionRow, world.session_b).media_purged_at is not None  # type: ignore[union-attr]
    finally:
        services.engine.dispose()
    with TestClient(create_app(world.settings)) as app:
        assert app.delete(f"/api/v1/sessions/{held}/hold", headers=_api(world.key_a)).status_code == 204
        assert app.post("/api/v1/people/S-001/erasure", headers=_api(world.key_a)).status_code == 200


def test_erasure_leaves_none_of_the_person_s_media_and_every_proof_verifies(world: World) -> None:
    root = world.settings.media_path
    session = world.sessions_a[0]
    services = build_services(world.settings)
    try:
        with services.sessions() as db:
            photo_key = db.scalar(select(CandidateRow.photo_key).where(CandidateRow.external_id == "S-001"))
            chunk_hashes = set(db.scalars(select(ChunkRow.sha256).where(ChunkRow.session_id == session)))
            tree_before = services.ledger.size(db)
    finally:
        services.engine.dispose()
    assert photo_key
    before = _plain_hashes(world)
    theirs = {key for key in before if key.startswith(photo_key) or f"/{session}/" in key}
    assert {k for k in theirs if "/evidence/" in k} and {k for k in theirs if "/faces/" in k}
    raw_theirs = {hashlib.sha256((root / key).read_bytes()).hexdigest() for key in theirs}
    copies_before = sum(1 for digest in before.values() if digest in chunk_hashes)

    with TestClient(create_app(world.settings)) as app:
        answer = app.post("/api/v1/people/S-001/erasure", headers=_api(world.key_a))
        assert answer.status_code == 200, answer.text
        assert app.post("/api/v1/people/S-001/erasure", headers=_api(world.key_b)).status_code == 404
        exported = app.get("/api/v1/people/S-001/data", headers=_api(world.key_a)).json()
        assert app.get(f"/api/v1/sessions/{session}/recording", headers=_api(world.key_a)).status_code == 404
    report = answer.json()
    assert (
        report["chunks"] >= 1 and report["evidence"] >= 1 and report["faces"] >= 1 and report["reference_photos"] == 1
    )

    after = _plain_hashes(world)
    assert not set(after) & theirs  # no object of theirs is left under any key
    assert not _raw_hashes(root) & raw_theirs  # nor its bytes anywhere in the media folder
    # the same recording uploaded for other people is still theirs: only this person's copies went
    assert sum(1 for digest in after.values() if digest in chunk_hashes) == copies_before - report["chunks"]
    (enrolment,) = exported["enrolments"]
    assert enrolment["erased_at"] and not enrolment["reference_photo"]["kept"]
    assert enrolment["sessions"][0]["recordings"]["pieces"] == 0

    services = build_services(world.settings)
    try:
        with services.sessions() as db:
            public_key = world.settings.key_file.with_name("ledger.pub").read_text().strip()
            checked = audit(db, public_key)
            assert checked.clean, checked.findings
            assert checked.tree_size > tree_before
            candidate = db.scalar(select(CandidateRow).where(CandidateRow.external_id == "S-001"))
            assert candidate is not None and candidate.embedding is None and candidate.photo_key is None
            faces = db.scalars(select(SessionFaceRow).where(SessionFaceRow.session_id == session)).all()
            assert faces and all(face.embedding == b"" for face in faces)
            erasure = db.scalar(select(EntryRow.payload).where(EntryRow.kind == "erasure"))
            assert erasure is not None and b"S-001" not in bytes(erasure)
            # the chunks' hashes stay in the ledger: a receipt of the recording still verifies
            sealed = b"".join(bytes(p) for p in db.scalars(select(EntryRow.payload)))
            assert all(digest.encode() in sealed for digest in chunk_hashes)
    finally:
        services.engine.dispose()


def test_each_college_sets_its_own_retention_periods(world: World) -> None:
    with TestClient(create_app(world.settings)) as app:
        default = app.get("/api/v1/retention", headers=_api(world.key_a)).json()
        assert default["recordings_days"] == world.settings.retention_days
        changed = app.put("/api/v1/retention", json={"recordings_days": 30}, headers=_api(world.key_a))
        assert changed.status_code == 200 and changed.json()["recordings_days"] == 30
        assert changed.json()["evidence_days"] == world.settings.retention_days
        assert app.put("/api/v1/retention", json={"recordings_days": 0}, headers=_api(world.key_a)).status_code == 400
        assert app.put("/api/v1/retention", json={"videos": 3}, headers=_api(world.key_a)).status_code == 400
        assert app.get("/api/v1/retention", headers=_api(world.key_b)).json()["recordings_days"] == 365
    services = build_services(world.settings)
    try:
        service = build_session_service(services)
        report = service.purge_expired(now=datetime.now(UTC) + timedelta(days=31))
        assert report.chunks >= 1 and report.evidence == 0 and report.faces == 0
        with services.sessions() as db:
            for session in world.sessions_a:
                chunks = db.scalars(select(ChunkRow.purged_at).where(ChunkRow.session_id == session)).all()
                assert chunks and all(chunks)
            kept_b = db.scalars(select(ChunkRow.purged_at).where(ChunkRow.session_id == world.session_b)).all()
            assert kept_b and not any(kept_b)
            policy = db.scalar(select(EntryRow.payload).where(EntryRow.kind == "retention_policy"))
            assert policy is not None and b'"recordings_days":30' in bytes(policy)
    finally:
        services.engine.dispose()


def test_page_event_detail_goes_after_its_period_and_the_event_stays(world: World) -> None:
    def page_event(session: str, seq: int) -> EventRow:
        return EventRow(
            session_id=session,
            analysis_run=99,
            seq=seq,
            type="tab_hidden",
            start_s=1.0,
            end_s=4.0,
            severity="low",
            confidence=1.0,
            technical=False,
            peak_s=1.0,
            measurements={"source": "page", "reason": "another tab"},
        )

    services = build_services(world.settings)
    try:
        with services.writing() as db:
            db.add_all([page_event(world.sessions_a[0], 1), page_event(world.session_b, 1)])
    finally:
        services.engine.dispose()
    with TestClient(create_app(world.settings)) as app:
        assert app.put("/api/v1/retention", json={"page_events_days": 2}, headers=_api(world.key_a)).status_code == 200
    services = build_services(world.settings)
    try:
        service = build_session_service(services)
        assert service.purge_expired(now=datetime.now(UTC) + timedelta(days=1)).page_events == 0
        assert service.purge_expired(now=datetime.now(UTC) + timedelta(days=3)).page_events == 1
        with services.sessions() as db:
            kept = {
                row.session_id: row.measurements
                for row in db.scalars(select(EventRow).where(EventRow.seq == 1, EventRow.analysis_run == 99))
            }
    finally:
        services.engine.dispose()
    assert kept == {
        world.sessions_a[0]: {"source": "page"},
        world.session_b: {"source": "page", "reason": "another tab"},
    }
