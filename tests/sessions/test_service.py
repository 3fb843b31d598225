"""The session service end to end below the web layer: real models, real worker processes, real database."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from footprint.ledger.merkle import verify_inclusion
from footprint.ledger.tables import EntryRow
from models.registry import sha256_of
from proctor.sessions.errors import InvalidInputError, NotFoundError, StateError
from proctor.sessions.job import run_job
from proctor.sessions.recordings import Upload
from proctor.sessions.tables import ChunkRow, EventRow, SessionRow, UploadRow
from proctor.sessions.worker import AnalysisWorker
from tests.fixtures.scenarios import Scenario
from tests.sessions.conftest import Platform


def enrol(platform: Platform, demo: Scenario) -> tuple[str, str]:
    exam = platform.service.create_exam(platform.college, "Final attestation: Electrical safety", "final", None)
    candidate = platform.service.add_candidate(
        platform.college, exam.id, "S-2026-0042", "Aigerim Nurlanovna", demo.reference.read_bytes()
    )
    return exam.id, candidate.id


def upload_of(source: Path, folder: Path, key: str | None = None) -> Upload:
    """A received upload as the web layer hands it over: a private copy, its hash and size."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / f"upload-{len(list(folder.iterdir()))}{source.suffix}"
    shutil.copy(source, copy)
    return Upload(copy, sha256_of(copy), copy.stat().st_size, source.name, key)


@pytest.mark.slow
def test_upload_is_kept_analysed_once_and_provable(platform: Platform, demo: Scenario, tmp_path: Path) -> None:
    service = platform.service
    exam_id, candidate_id = enrol(platform, demo)
    row, token = service.create_session(platform.college, exam_id, candidate_id)
    assert len(token) >= 32 and row.status == "scheduled"
    service.recordings.accept(platform.college, row.id, upload_of(demo.video, tmp_path / "in"))

    # The server "restarts" while the job is running: a new worker resumes it from the chunks.
    assert service.analyses.start(row.id) is not None
    worker = AnalysisWorker(service)
    worker.start()
    try:
        assert worker.wait_idle(timeout=240)
    finally:
        worker.stop()

    with service.sessions() as db:
        session = service.session(db, platform.college, row.id)
        assert (session.status, session.job_state, session.analysis_run) == ("analysed", "done", 1)
        assert session.job_progress == 1.0 and session.job_attempts == 2
        assert session.score is not None and session.score > 0
        chunks = db.scalars(select(ChunkRow).where(ChunkRow.session_id == row.id)).all()
        assert len(chunks) == int(demo.duration_s // 10) + 1  # 10 s chunks of the whole recording
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
        assert chunk_leaves == len(chunks)
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
    with pytest.raises(NotFoundError):
        service.recordings.accept(platform.other_college, row.id, upload_of(demo.video, tmp_path / "in"))
    for photo, reason in [("multi_face.jpg", "5 faces"), ("free-mountain-vector-01.jpg", "no face")]:
        with pytest.raises(InvalidInputError, match=reason):
            service.add_candidate(platform.college, exam_id, photo, "Someone", (media / photo).read_bytes())
    with pytest.raises(InvalidInputError, match="not a readable image"):
        service.add_candidate(platform.college, exam_id, "x", "Someone", b"GIF89a-not-really")
    with pytest.raises(StateError, match="already enrolled"):
        service.add_candidate(platform.college, exam_id, "S-2026-0042", "Again", demo.reference.read_bytes())

    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(demo.video.read_bytes()[:50_000])
    for bad in (notes, truncated, media / "obama.jpg"):
        with pytest.raises(InvalidInputError):
            service.recordings.accept(platform.college, row.id, upload_of(bad, tmp_path / "bad"))
    with service.sessions() as db:
        assert db.scalar(select(func.count()).select_from(ChunkRow)) == 0
        assert db.scalar(select(func.count()).select_from(UploadRow)) == 0
        assert service.session(db, platform.college, row.id).status == "scheduled"
    stored = list(service.storage.keys(platform.college))
    assert len(stored) == 1 and "/candidates/" in stored[0]  # the photo, and no chunk of a refused upload
    with pytest.raises(StateError):
        service.decide(platform.college, row.id, "confirmed", "examiner", "")  # nothing analysed yet


def test_a_retried_upload_is_the_first_upload(platform: Platform, demo: Scenario, media: Path, tmp_path: Path) -> None:
    service = platform.service
    exam_id, candidate_id = enrol(platform, demo)
    row, _ = service.create_session(platform.college, exam_id, candidate_id)
    first = service.recordings.accept(platform.college, row.id, upload_of(media / "single_face.mp4", tmp_path / "a"))
    again = service.recordings.accept(platform.college, row.id, upload_of(media / "single_face.mp4", tmp_path / "b"))
    assert not first.replayed and again.replayed and again.upload_id == first.upload_id
    keyed = upload_of(media / "no_face.mp4", tmp_path / "c", key="upload-2")
    second = service.recordings.accept(platform.college, row.id, keyed)
    assert not second.replayed
    same_key = service.recordings.accept(
        platform.college, row.id, upload_of(media / "no_face.mp4", tmp_path / "d", key="upload-2")
    )
    assert same_key.replayed and same_key.upload_id == second.upload_id
    with pytest.raises(StateError, match="Idempotency-Key"):
        service.recordings.accept(
            platform.college, row.id, upload_of(media / "face_noface.mov", tmp_path / "e", key="upload-2")
        )
    with service.sessions() as db:
        chunks = db.scalars(select(ChunkRow).where(ChunkRow.session_id == row.id).order_by(ChunkRow.seq)).all()
        assert [c.seq for c in chunks] == list(range(len(chunks)))
        assert db.scalar(select(func.count()).select_from(UploadRow)) == 2
        # the second file continues the timeline after the first one: no overlap, no double time
        assert chunks[-1].start_s >= 2.0 and sum(c.duration_s for c in chunks) < 2.5 + 4.0


def test_file_work_happens_outside_the_write_transaction(platform: Platform, demo: Scenario, tmp_path: Path) -> None:
    """Copying and fsyncing chunks must not hold the database's write lock (every other writer would wait)."""
    service = platform.service
    exam_id, candidate_id = enrol(platform, demo)
    row, _ = service.create_session(platform.college, exam_id, candidate_id)
    in_transaction = False
    puts_inside: list[str] = []
    original_write = service.store.write
    original_put = service.storage.put

    class Watched:
        def __enter__(self) -> object:
            nonlocal in_transaction
            self._inner = original_write()
            in_transaction = True
            return self._inner.__enter__()

        def __exit__(self, *exc: object) -> None:
            nonlocal in_transaction
            in_transaction = False
            self._inner.__exit__(*exc)  # type: ignore[arg-type]

    def put(key: str, source: Path) -> object:
        if in_transaction:
            puts_inside.append(key)
        return original_put(key, source)

    object.__setattr__(service.store, "write", Watched)
    service.storage.put = put  # type: ignore[method-assign]
    service.recordings.accept(platform.college, row.id, upload_of(demo.video, tmp_path / "in"))
    assert puts_inside == []
    with service.sessions() as db:
        assert db.scalar(select(func.count()).select_from(ChunkRow)) > 0


def test_no_file_descriptor_is_left_open(platform: Platform, demo: Scenario, media: Path, tmp_path: Path) -> None:
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    service = platform.service
    exam_id, candidate_id = enrol(platform, demo)
    row, _ = service.create_session(platform.college, exam_id, candidate_id)
    service.recordings.accept(platform.college, row.id, upload_of(media / "single_face.mp4", tmp_path / "warm"))
    before = open_fds()
    for n in range(5):
        service.add_candidate(platform.college, exam_id, f"S-{n}", "Someone", demo.reference.read_bytes())
        session, _ = service.create_session(platform.college, exam_id, candidate_id)
        service.recordings.accept(platform.college, session.id, upload_of(media / "single_face.mp4", tmp_path / "x"))
        service.store.put_bytes(f"{platform.college}/evidence/{n}.jpg", b"\xff\xd8jpeg")
    assert open_fds() == before


def test_playback_opened_before_a_purge_plays_to_the_end(platform: Platform, demo: Scenario, tmp_path: Path) -> None:
    service = platform.service
    exam_id, candidate_id = enrol(platform, demo)
    row, _ = service.create_session(platform.college, exam_id, candidate_id)
    service.recordings.accept(platform.college, row.id, upload_of(demo.video, tmp_path / "in"))
    with service.sessions() as db:
        chunks = db.scalars(select(ChunkRow).where(ChunkRow.session_id == row.id).order_by(ChunkRow.seq)).all()
    playback = service.playbacks.open(platform.college, row.id)
    assert playback.media_type == "video/mp4"  # H.264 + AAC chunks, remuxed into one file a browser plays
    built = next(service.storage.local_path(k) for k in service.storage.keys(platform.college) if "/playback/" in k)
    expected = built.read_bytes()
    assert playback.size == len(expected)
    blocks = playback.blocks()
    first = next(blocks)
    report = service.purge_expired(now=datetime.now(UTC) + timedelta(days=31))  # purge while the answer streams
    assert report.chunks == len(chunks)
    assert not any(service.storage.local_path(c.storage_key).exists() for c in chunks)
    assert not built.exists()  # the playback file made from them went too
    assert first + b"".join(blocks) == expected  # whole, not cut short
    with pytest.raises(NotFoundError, match="no recording"):
        service.playbacks.open(platform.college, row.id)  # after the purge: a clear 404


def test_retention_purges_media_and_records_it_in_the_ledger(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    service = platform.service
    exam_id, candidate_id = enrol(platform, demo)
    row, _ = service.create_session(platform.college, exam_id, candidate_id)
    service.recordings.accept(platform.college, row.id, upload_of(media / "single_face.mp4", tmp_path / "in"))
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


def test_analysis_records_its_progress(platform: Platform, demo: Scenario, tmp_path: Path) -> None:
    service = platform.service
    exam_id, candidate_id = enrol(platform, demo)
    row, _ = service.create_session(platform.college, exam_id, candidate_id)
    service.recordings.accept(platform.college, row.id, upload_of(demo.video, tmp_path / "in"))
    job = service.analyses.start(row.id)
    assert job is not None and job.duration_s == pytest.approx(demo.duration_s, abs=0.2)
    service.analyses.progress(row.id, 0.4)
    with service.sessions() as db:
        session = db.get(SessionRow, row.id)
        assert session is not None and session.job_progress == 0.4 and session.job_started_at is not None


@pytest.mark.slow
def test_a_running_job_reports_the_share_done(platform: Platform, demo: Scenario, tmp_path: Path) -> None:
    service = platform.service
    exam_id, candidate_id = enrol(platform, demo)
    row, _ = service.create_session(platform.college, exam_id, candidate_id)
    service.recordings.accept(platform.college, row.id, upload_of(demo.video, tmp_path / "in"))
    job = service.analyses.start(row.id)
    assert job is not None
    heard: list[float] = []
    result = run_job(job, lambda session_id, share: heard.append(share), every_s=0.0)
    assert len(heard) > 10 and heard == sorted(heard) and 0.0 <= heard[0] < 0.2 and 0.9 < heard[-1] <= 1.0
    service.analyses.progress(row.id, heard[len(heard) // 2])
    with service.sessions() as db:
        session = db.get(SessionRow, row.id)
        assert session is not None and session.job_progress == pytest.approx(heard[len(heard) // 2], abs=0.001)
    assert service.analyses.finish(result) is not None
