"""Analysis jobs as rows of the session table: queued → running (with progress) → done | failed.

The job's state lives in the database, so a restarted server re-queues what was running; a result is
persisted once, in one transaction with its events, score, ledger record and footprint statement.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import select

from footprint.ledger import canonical
from proctor.sessions.errors import NotFoundError
from proctor.sessions.faces import face_rows, store_face_photos
from proctor.sessions.job import AnalysisJob, JobResult, JobSource
from proctor.sessions.lifecycle import Status, move
from proctor.sessions.statements import analysed_statement, session_facts
from proctor.sessions.store import SessionStore
from proctor.sessions.tables import CandidateRow, ChunkRow, EventRow, ExamRow, SessionRow, utcnow

RUNNING = ("queued", "running")
MAX_ATTEMPTS = 3
"""Starts of one job (restarts and lost processes included) before it is given up as failed."""


class Analyses:
    """Starts, tracks and records the analysis jobs of sessions."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    def pending(self) -> list[str]:
        """Sessions whose analysis is queued or was running when the server stopped."""
        with self.store.sessions() as db:
            return list(db.scalars(select(SessionRow.id).where(SessionRow.job_state.in_(RUNNING))))

    def start(self, session_id: str) -> AnalysisJob | None:
        """Mark a queued session as running and describe its job (None if nothing to do)."""
        with self.store.write() as db:
            row = db.get(SessionRow, session_id)
            if row is None or row.job_state not in RUNNING:
                return None
            chunks = db.scalars(select(ChunkRow).where(ChunkRow.session_id == session_id).order_by(ChunkRow.seq)).all()
            candidate = db.get(CandidateRow, row.candidate_id)
            exam = db.get(ExamRow, row.exam_id)
            if candidate is None or exam is None or not chunks:
                row.job_state, row.job_error = "failed", "nothing to analyse"
                return None
            if row.job_attempts >= MAX_ATTEMPTS:
                row.job_state = "failed"
                row.job_error = f"the analysis was started {row.job_attempts} times without finishing; upload again"
                return None
            row.job_state = "running"
            row.job_attempts += 1
            row.job_started_at = utcnow()
            row.job_progress = 0.0
            sources = tuple(
                JobSource(str(self.store.storage.local_path(c.storage_key)), c.start_s, c.rotation) for c in chunks
            )
            duration = max(c.start_s + c.duration_s for c in chunks)
            return AnalysisJob(session_id, sources, candidate.embedding, dict(exam.policy), duration)

    def progress(self, session_id: str, share: float) -> None:
        """Record how much of a running job's recording is analysed (0–1)."""
        with self.store.write() as db:
            row = db.get(SessionRow, session_id)
            if row is not None and row.job_state == "running":
                row.job_progress = round(min(1.0, max(0.0, share)), 3)

    def finish(self, result: JobResult) -> SessionRow | None:
        """Persist an analysis in one transaction: events, faces seen, score, ledger record, footprint statement."""
        with self.store.sessions() as db:
            row = db.get(SessionRow, result.session_id)
            if row is None or row.job_state != "running":
                return None  # already persisted (a duplicate run after a restart)
            run = row.analysis_run + 1
            exam = db.get(ExamRow, row.exam_id)
            if exam is None:
                raise NotFoundError(f"exam of session {row.id} is gone")
            prefix = f"{exam.college_id}/{exam.id}/{row.id}/run{run}"
        storage = self.store.storage
        storage.delete_prefix(prefix)  # leftovers of a run that crashed before committing
        keys = {
            image.seq: self.store.put_bytes(f"{prefix}/evidence/{image.seq:04d}.jpg", image.jpeg)
            for image in result.evidence
        }
        photos = store_face_photos(self.store, f"{prefix}/faces", result.faces)
        with self.store.kept_until_commit([*keys.values(), *photos.values()]), self.store.write() as db:
            row = db.get(SessionRow, result.session_id)
            if row is None or row.job_state != "running" or row.analysis_run + 1 != run:
                return None
            counts: dict[str, int] = {}
            for seq, event in enumerate(result.events):
                counts[event["type"]] = counts.get(event["type"], 0) + 1
                db.add(
                    EventRow(
                        session_id=row.id,
                        analysis_run=run,
                        seq=seq,
                        type=event["type"],
                        start_s=event["start_s"],
                        end_s=event["end_s"],
                        severity=event["severity"],
                        confidence=event["confidence"],
                        technical=event["technical"],
                        peak_s=event["peak_s"],
                        measurements=event["measurements"],
                        evidence_key=keys.get(seq),
                    )
                )
            db.add_all(face_rows(row.id, run, result.faces, photos))
            row.analysis_run = run
            row.score = result.score
            row.report = result.report
            row.status = move(row.status, Status.ANALYSED).value
            row.job_state = "done"
            row.job_progress = 1.0
            row.analysed_at = utcnow()
            self.store.ledger.append(
                db,
                "proctoring_analysis",
                f"{row.id}/{run}",
                {
                    "session": row.id,
                    "run": run,
                    "score": round(result.score, 2),
                    "event_counts": counts,
                    "events_sha256": hashlib.sha256(canonical({"events": list(result.events)})).hexdigest(),
                },
            )
            if self.store.statement_sink is not None:
                facts = session_facts(db, row, self.store.config.base_url)
                duration = float(result.report.get("analysed_duration_s", 0.0))
                statement = analysed_statement(facts, result.score, counts, duration)
                self.store.statement_sink(db, facts.college_id, statement)
            return row

    def fail(self, session_id: str, error: str) -> None:
        with self.store.write() as db:
            row = db.get(SessionRow, session_id)
            if row is not None:
                row.job_state, row.job_error = "failed", error[:2000]


def eta_s(started_at: datetime | None, share: float | None, now: datetime | None = None) -> float | None:
    """Seconds until a running job is done, from its pace so far (None until it has made progress)."""
    if started_at is None or share is None or share <= 0.0 or share >= 1.0:
        return None
    if started_at.tzinfo is None:  # SQLite gives naive UTC back
        started_at = started_at.replace(tzinfo=UTC)
    elapsed = ((now or datetime.now(UTC)) - started_at).total_seconds()
    return round(max(0.0, elapsed * (1.0 - share) / share), 1)
