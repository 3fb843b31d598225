"""Analysis jobs as rows of the session table: queued → running (with progress) → done | failed.

The job's state lives in the database, not in a process, so every platform node sees it and any node
can run it. A node takes a queued job by claiming it (one UPDATE that only one claimer wins), holds it
under a lease it renews while the job runs, and any node re-queues a running job whose lease ran out
(its node died). A result is persisted once, in one transaction with its events, score, ledger record
and footprint statement, and only from the claim that still holds the job: a duplicate, or a late
result of a start that lost its job, is ignored.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from footprint.ledger import canonical
from proctor.sessions.errors import NotFoundError, StateError
from proctor.sessions.faces import face_rows, store_face_photos
from proctor.sessions.job import AnalysisJob, JobResult, JobSource
from proctor.sessions.lifecycle import Status, move
from proctor.sessions.statements import analysed_statement, session_facts
from proctor.sessions.store import SessionStore, college_session
from proctor.sessions.tables import CandidateRow, ChunkRow, EventRow, ExamRow, SessionRow, utcnow

logger = logging.getLogger(__name__)

RUNNING = ("queued", "running")
MAX_ATTEMPTS = 3
"""Starts of one job (restarts and lost processes included) before it is given up as failed."""


class Analyses:
    """Claims, tracks and records the analysis jobs of sessions."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    def pending(self) -> list[str]:
        """Sessions whose analysis is queued or running (on any node)."""
        with self.store.sessions() as db:
            return list(db.scalars(select(SessionRow.id).where(SessionRow.job_state.in_(RUNNING))))

    def claim(self, node: str, lease_s: float) -> AnalysisJob | None:
        """Take the oldest queued job for `node` under a lease of `lease_s`; None when nothing is queued.

        On PostgreSQL the row is locked with SKIP LOCKED, so nodes claiming at once take different jobs; on
        SQLite the single writer serialises claims."""
        while True:
            with self.store.write() as db:
                row = db.scalars(
                    select(SessionRow)
                    .where(SessionRow.job_state == "queued")
                    .order_by(SessionRow.created_at, SessionRow.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if row is None:
                    return None
                job = self._begin(db, row, node, lease_s)
            if job is not None:
                return job

    def start(self, session_id: str, node: str | None = None, lease_s: float | None = None) -> AnalysisJob | None:
        """Claim this session's job if it is queued or running (None if nothing to do). Without a node and a
        lease the job is held by nobody: any node's worker takes it over at once (tests, a restart)."""
        with self.store.write() as db:
            row = db.scalars(select(SessionRow).where(SessionRow.id == session_id).with_for_update()).first()
            if row is None or row.job_state not in RUNNING:
                return None
            return self._begin(db, row, node, lease_s)

    def _begin(self, db: Session, row: SessionRow, node: str | None, lease_s: float | None) -> AnalysisJob | None:
        """Mark the job running under a new claim and describe it; a job without input or past its attempts fails."""
        chunks = db.scalars(select(ChunkRow).where(ChunkRow.session_id == row.id).order_by(ChunkRow.seq)).all()
        candidate = db.get(CandidateRow, row.candidate_id)
        exam = db.get(ExamRow, row.exam_id)
        if candidate is None or exam is None or not chunks:
            row.job_state, row.job_error = "failed", "nothing to analyse"
            return None
        if row.job_attempts >= MAX_ATTEMPTS:
            row.job_state = "failed"
            row.job_error = f"the analysis was started {row.job_attempts} times without finishing; upload again"
            logger.warning("analysis of session %s given up after %d starts", row.id, row.job_attempts)
            return None
        now = utcnow()
        row.job_state = "running"
        row.job_attempts += 1
        row.job_started_at = now
        row.job_progress = 0.0
        row.job_node = node
        row.job_claim = str(uuid.uuid4())
        row.job_lease_until = now + timedelta(seconds=lease_s) if node is not None and lease_s else None
        row.job_worker = None
        sources = tuple(JobSource(c.storage_key, c.start_s, c.rotation) for c in chunks)
        duration = max(c.start_s + c.duration_s for c in chunks)
        storage = self.store.storage.spec
        return AnalysisJob(
            row.id, sources, candidate.embedding, dict(exam.policy), duration, storage=storage, claim=row.job_claim
        )

    def renew(self, node: str, lease_s: float) -> int:
        """Extend the lease of every job `node` holds; returns how many it holds."""
        with self.store.write() as db:
            result = db.execute(
                update(SessionRow)
                .where(SessionRow.job_node == node, SessionRow.job_state == "running")
                .values(job_lease_until=utcnow() + timedelta(seconds=lease_s))
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def requeue_lost(self, node: str | None = None) -> list[str]:
        """Queue again the running jobs nobody vouches for: lease run out, or never leased (started outside a
        worker); with `node`, also those this node held before it restarted. Returns their sessions."""
        lost = or_(SessionRow.job_lease_until.is_(None), SessionRow.job_lease_until < utcnow())
        if node is not None:
            lost = or_(lost, SessionRow.job_node == node)
        with self.store.write() as db:
            rows = db.scalars(
                select(SessionRow).where(SessionRow.job_state == "running", lost).with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                logger.warning(
                    "re-queueing the analysis of session %s: its node %s no longer holds it", row.id, row.job_node
                )
                self._requeue(row)
            return [row.id for row in rows]

    def release(self, session_id: str, claim: str, *, refund: bool = False) -> bool:
        """Give a claimed job back to the queue (its worker was lost): the next claim runs it again. With
        `refund` (the node is stopping; the job did nothing wrong) the start is not counted."""
        with self.store.write() as db:
            row = db.scalars(select(SessionRow).where(SessionRow.id == session_id).with_for_update()).first()
            if row is None or row.job_state != "running" or row.job_claim != claim:
                return False
            self._requeue(row)
            if refund:
                row.job_attempts = max(0, row.job_attempts - 1)
            return True

    @staticmethod
    def _requeue(row: SessionRow) -> None:
        row.job_state = "queued"
        row.job_node = row.job_claim = row.job_lease_until = None
        row.job_progress = None

    def reanalyse(self, college_id: str, session_id: str) -> SessionRow:
        """Queue a new analysis run of a session's kept uploaded recording (its events so far stay as they are);
        refused for a session without a kept upload, one being analysed, or one already judged."""
        with self.store.write() as db:
            row = college_session(db, college_id, session_id)
            if row.job_state in RUNNING:
                return row  # already on its way
            if Status(row.status) not in (Status.SUBMITTED, Status.ANALYSED):
                raise StateError(f"a session that is {row.status} is not analysed again")
            chunks = db.scalars(
                select(ChunkRow).where(ChunkRow.session_id == session_id, ChunkRow.purged_at.is_(None))
            ).all()
            if not chunks:
                raise StateError("this session has no kept recording to analyse")
            if any(chunk.run_id is not None for chunk in chunks):
                raise StateError("a live session's recording is not analysed again (its live analysis stands)")
            row.status = move(row.status, Status.SUBMITTED).value
            row.job_state = "queued"
            row.job_attempts = 0
            row.job_error = None
            self._requeue(row)
            return row

    def progress(self, session_id: str, share: float, claim: str | None = None, worker: str | None = None) -> None:
        """Record how much of a running job's recording is analysed (0–1), and where it runs."""
        with self.store.write() as db:
            row = db.get(SessionRow, session_id)
            if row is not None and row.job_state == "running" and (claim is None or row.job_claim == claim):
                row.job_progress = round(min(1.0, max(0.0, share)), 3)
                if worker:
                    row.job_worker = worker

    def finish(self, result: JobResult, claim: str | None = None) -> SessionRow | None:
        """Persist an analysis in one transaction: events, faces seen, score, ledger record, footprint statement.

        Nothing is persisted (None) when the job is no longer running — a duplicate — or, given the `claim`
        the result was computed under, when another start holds the job now."""
        with self.store.sessions() as db:
            row = db.get(SessionRow, result.session_id)
            if row is None or not _holds(row, claim):
                return None  # already persisted, or taken over after this start lost its lease
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
            # the row lock makes a second finisher on another node wait, then see the job done
            row = db.scalars(select(SessionRow).where(SessionRow.id == result.session_id).with_for_update()).first()
            if row is None or not _holds(row, claim) or row.analysis_run + 1 != run:
                logger.info("a duplicate result of session %s was not kept", result.session_id)
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
            row.job_lease_until = None
            row.job_worker = result.worker or row.job_worker
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

    def fail(self, session_id: str, error: str, claim: str | None = None) -> None:
        """Record that a job failed (only while `claim`, if given, still holds it)."""
        with self.store.write() as db:
            row = db.get(SessionRow, session_id)
            if row is not None and (claim is None or row.job_claim == claim):
                row.job_state, row.job_error = "failed", error[:2000]
                row.job_lease_until = None


def _holds(row: SessionRow, claim: str | None) -> bool:
    """The job is running, under `claim` when one is given."""
    return row.job_state == "running" and (claim is None or row.job_claim == claim)


def eta_s(started_at: datetime | None, share: float | None, now: datetime | None = None) -> float | None:
    """Seconds until a running job is done, from its pace so far (None until it has made progress)."""
    if started_at is None or share is None or share <= 0.0 or share >= 1.0:
        return None
    if started_at.tzinfo is None:  # SQLite gives naive UTC back
        started_at = started_at.replace(tzinfo=UTC)
    elapsed = ((now or datetime.now(UTC)) - started_at).total_seconds()
    return round(max(0.0, elapsed * (1.0 - share) / share), 1)
