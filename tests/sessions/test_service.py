"""The session service end to end below the web layer: real models, real worker processes, real database."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from footprint.ledger.merkle import verify_inclusion
from footprint.ledger.tables import EntryRow
from proctor.sessions.errors import InvalidInputError, NotFoundError, StateError
from proctor.sessions.tables import ChunkRow, EventRow
from proctor.sessions.worker import AnalysisWorker
from tests.fixtures.scenarios import Scenario
from tests.sessions.conftest import Platform


def enrol(platform: Platform, demo: Scenario) -> tuple[str, str]:
    exam = platform.service.create_exam(platform.college, "Final attestation: Electrical safety", "final", None)
    candidate = platform.service.add_candidate(
        platform.college, exam.id, "S-2026-0042", "Aigerim Nurlanovna", demo.reference.read_bytes()
    )
    return exam.id, candidate.id


@pytest.mark.slow
def test_upload_is_kept_analysed_once_and_provable(platform: Platform, demo: Scenario, tmp_path: Path) -> None:
    service = platform.service
    exam_id, candidate_id = enrol(platform, demo)
    row, token = service.create_session(platform.college, exam_id, candidate_id)
    assert len(token) >= 32 and row.status == "scheduled"
    upload = tmp_path / "upload.mp4"
    shutil.copy(demo.video, upload)
    service.accept_recording(platform.college, row.id, upload)

    # The server "restarts" while the job is running: a new worker resumes it from the chunks.
    assert service.start_job(row.id) is not None
    worker = AnalysisWorker(service)
    worker.start()
    try:
        assert worker.wait_idle(timeout=240)
    finally:
        worker.stop()

    with service.sessions() as db:
        session = service.session(db, platform.college, row.id)
        assert (session.status, session.job_state, session.analysis_run) == ("analysed", "done", 1)
        assert session.score is not None and session.score > 0
        chunks = db.scalars(select(ChunkRow).where(ChunkRow.session_id == row.id)).all()
        assert len(chunks) == 3  # 29.8 s in 10 s chunks
        runs = db.scalar(select(func.count(func.distinct(EventRow.analysis_run))).where(EventRow.session_id == row.id))
        assert runs == 1
        kinds = {e.type for e in service.events(platform.college, row.id)}
        assert {"face_absent", "multiple_faces", "identity_mismatch", "speech_detected"} <= kinds
        with_evidence = [e for e in service.events(platform.college, row.id) if e.evidence_key]
        assert with_evidence and all(service.storage.local_path(e.evidence_key).is_file() for e in with_evidence)
        # every chunk and the analysis are leaves of the ledger, provable against its root
        entry = service.ledger.entry_for(db, "proctoring_analysis", f"{row.id}/1")
        assert entry is not None
        proof = service.ledger.inclusion_proof(db, entry.index)
        verify_inclusion(proof, entry.leaf_hash, service.ledger.root(db))
        chunk_leaves = db.scalar(select(func.count()).select_from(EntryRow).where(EntryRow.kind == "recording_chunk"))
        assert chunk_leaves == 3
    assert [s["verb"]["id"].rsplit("/", 1)[-1] for s in platform.statements] == ["attempted"]
    assert platform.statements[0]["context"]["registration"] == row.id

    decision = service.decide(platform.college, row.id, "annulled", "examiner@college.kz", "second person seen")
    assert decision.ledger_index > entry.index
    assert platform.statements[-1]["result"]["success"] is False


def test_other_college_sees_nothing_and_bad_input_is_refused(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    service = platform.service
    exam_id, candidate_id = enrol(platform, demo)
    row, _ = service.create_session(platform.college, exam_id, candidate_id)
    with service.sessions() as db:
        with pytest.raises(NotFoundError):
            service.exam(db, platform.other_college, exam_id)
        with pytest.raises(NotFoundError):
            service.session(db, platform.other_college, row.id)
    with pytest.raises(NotFoundError):
        service.create_session(platform.other_college, exam_id, candidate_id)
    for photo, reason in [("multi_face.jpg", "5 faces"), ("free-mountain-vector-01.jpg", "no face")]:
        with pytest.raises(InvalidInputError, match=reason):
            service.add_candidate(platform.college, exam_id, photo, "Someone", (media / photo).read_bytes())
    with pytest.raises(InvalidInputError, match="not a readable image"):
        service.add_candidate(platform.college, exam_id, "x", "Someone", b"GIF89a-not-really")
    with pytest.raises(StateError, match="already enrolled"):
        service.add_candidate(platform.college, exam_id, "S-2026-0042", "Again", demo.reference.read_bytes())

    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")
    with pytest.raises(InvalidInputError):
        service.accept_recording(platform.college, row.id, notes)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(demo.video.read_bytes()[:50_000])
    with pytest.raises(InvalidInputError):
        service.accept_recording(platform.college, row.id, truncated)
    with service.sessions() as db:
        assert db.scalar(select(func.count()).select_from(ChunkRow)) == 0
        assert service.session(db, platform.college, row.id).status == "scheduled"
    assert list(service.storage.keys(platform.college)) == [
        k for k in service.storage.keys(platform.college) if "/candidates/" in k
    ]
    with pytest.raises(StateError):
        service.decide(platform.college, row.id, "confirmed", "examiner", "")  # nothing analysed yet


def test_retention_purges_media_and_records_it_in_the_ledger(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    service = platform.service
    exam_id, candidate_id = enrol(platform, demo)
    row, _ = service.create_session(platform.college, exam_id, candidate_id)
    upload = tmp_path / "clip.mp4"
    shutil.copy(media / "single_face.mp4", upload)
    service.accept_recording(platform.college, row.id, upload)
    assert service.purge_expired().sessions == 0  # nothing is old enough yet
    report = service.purge_expired(now=datetime.now(UTC) + timedelta(days=31))
    assert (report.sessions, report.chunks) == (1, 1)
    with service.sessions() as db:
        chunk = db.scalars(select(ChunkRow).where(ChunkRow.session_id == row.id)).one()
        assert chunk.purged_at is not None
        assert not service.storage.local_path(chunk.storage_key).exists()
        purge = db.scalars(select(EntryRow).where(EntryRow.kind == "retention_purge")).one()
        assert chunk.sha256.encode() in purge.payload
    assert service.purge_expired(now=datetime.now(UTC) + timedelta(days=32)).sessions == 0
