"""Analysis jobs as rows of the session table: queued → running (with progress) → done | failed.

The job's state lives in the database, not in a process, so every platform node sees it and any node
can run it. A node takes a queued job by claiming it (one UPDATE that only one claimer wins), holds it
under a lease it renews while the job runs — but not past the start's deadline — and any node re-queues a
running job whose lease ran out (its node died, or the start hung). Jobs are claimed in the order they were
queued; a job given back waits a while before it runs again. Leases, deadlines and retry times are set
and judged by the database's clock (see `clock.py`), never by a node's own. A result is persisted once, in
one transaction with its events, score, ledger record and footprint statement, and only from the claim
that still holds the job: a duplicate, or a late result of a start that lost its job, is ignored.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update

from footprint.ledger import canonical
from proctor.sessions.clock import db_time
from proctor.sessions.errors import NotFoundError, StateError
from proctor.sessions.faces import face_rows, store_face_photos
from proctor.sessions.job import AnalysisJob, JobResult, JobSource
from proctor.sessions.lifecycle import Status, move
from proctor.sessions.statements import analysed_statement
from proctor.sessions.store import SessionStore, college_exam, college_session
from proctor.sessions.tables import CandidateRow, ChunkRow, EventRow, ExamRow, SessionRow, utcnow

logger = logging.getLogger(__name__)

RUNNING = ("queued", "running")
MAX_ATTEMPTS = 3
"""Starts of one job (restarts and lost processes included) before it is given up as failed."""
CLAIM_BATCH = 8
QUEUED: dict[str, object] = {
    "job_state": "queued",
    "job_node": None,
    "job_claim": None,
    "job_lease_until": None,
    "job_deadline_at": None,
    "job_progress": None,
}
"""The job columns of a queued job (its place in the queue, `job_queued_at`, is set where it is first queued)."""


@dataclass(frozen=True)
class Deadline:
    """How long one start of a job may run: `per_recorded_s` seconds per second of recording, plus `margin_s`.
    A start still running then is stopped by its node, and — should its node hang too — its lease is no
    longer renewed, so any node gives the job back to the queue."""

    per_recorded_s: float = 3.0
    margin_s: float = 300.0

    def seconds(self, duration_s: float) -> float:
        return self.per_recorded_s * max(0.0, duration_s) + self.margin_s


NO_DEADLINE = Deadline(per_recorded_s=0.0, margin_s=0.0)
"""For a start outside a worker (tests, a restart): no deadline."""


class Analyses:
    """Claims, tracks and records the analysis jobs of sessions."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    def pending(self) -> list[str]:
        """Sessions whose analysis is queued or running (on any node)."""
        with self.store.sessions() as db:
            return list(db.scalars(select(SessionRow.id).where(SessionRow.job_state.in_(RUNNING))))

    def claim(self, node: str, lease_s: float, deadline: Deadline = NO_DEADLINE) -> AnalysisJob | None:
        """Take the job queued longest ago (and not waiting to be retried) for `node` under a lease of
        `lease_s`, its start allowed `deadline`; None when nothing is queued.

        Taking is one conditional UPDATE (queued → running): of nodes claiming the same job at once, exactly
        one changes the row; the others move on to the next queued job."""
        while True:
            with self.store.sessions() as db:
                waiting = list(
                    db.scalars(
                        select(SessionRow.id)
                        .where(
                            SessionRow.job_state == "queued",
                            or_(SessionRow.job_retry_at.is_(None), SessionRow.job_retry_at <= db_time()),
                        )
                        .order_by(SessionRow.job_queued_at, SessionRow.id)
                        .limit(CLAIM_BATCH)
                    )
                )
            if not waiting:
                return None
            for session_id in waiting:
                job = self._take(session_id, ("queued",), node, lease_s, deadline)
                if job is not None:
                    return job

    def start(self, session_id: str, node: str | None = None, lease_s: float | None = None) -> AnalysisJob | None:
        """Claim this session's job if it is queued or running (None if nothing to do). Without a node and a
        lease the job is held by nobody: any node's worker takes it over at once (tests, a restart)."""
        return self._take(session_id, RUNNING, node, lease_s, NO_DEADLINE)

    def _take(
        self, session_id: str, states: tuple[str, ...], node: str | None, lease_s: float | None, deadline: Deadline
    ) -> AnalysisJob | None:
        """Mark the job running under a new claim (if it is in one of `states`) and describe it; a job without
        input, or started too often, fails instead. None when another claimer changed the row first."""
        claim = str(uuid.uuid4())
        with self.store.write() as db:
            taken = db.execute(
                update(SessionRow)
                .where(SessionRow.id == session_id, SessionRow.job_state.in_(states))
                .values(
                    job_state="running",
                    job_claim=claim,
                    job_node=node,
                    job_lease_until=db_time(lease_s) if node is not None and lease_s else None,
                    job_deadline_at=None,
                    job_retry_at=None,
                    job_attempts=SessionRow.job_attempts + 1,
                    job_started_at=db_time(),
                    job_progress=0.0,
                    job_worker=None,
                )
                .execution_options(synchronize_session=False)
            )
            if _rowcount(taken) != 1:
                return None
            row = db.get(SessionRow, session_id)
            assert row is not None  # the UPDATE just matched it
            chunks = db.scalars(select(ChunkRow).where(ChunkRow.session_id == row.id).order_by(ChunkRow.seq)).all()
            candidate = db.get(CandidateRow, row.candidate_id)
            exam = db.get(ExamRow, row.exam_id)
            if candidate is None or exam is None or not chunks:
                row.job_state, row.job_error, row.job_lease_until = "failed", "nothing to analyse", None
                return None
            if row.job_attempts > MAX_ATTEMPTS:
                row.job_attempts -= 1
                row.job_state, row.job_lease_until = "failed", None
                last = f" (the last one: {row.job_error})" if row.job_error else ""
                row.job_error = (
                    f"the analysis was started {row.job_attempts} times without finishing{last}; upload again"
                )[:2000]
                logger.warning("analysis of session %s given up after %d starts", row.id, row.job_attempts)
                return None
            sources = tuple(JobSource(c.storage_key, c.start_s, c.rotation) for c in chunks)
            duration = max(c.start_s + c.duration_s for c in chunks)
            allowed = deadline.seconds(duration)
            if allowed > 0:
                db.execute(
                    update(SessionRow)
                    .where(SessionRow.id == session_id, SessionRow.job_claim == claim)
                    .values(job_deadline_at=db_time(allowed))
                    .execution_options(synchronize_session=False)
                )
            spec = self.store.storage.spec
            return AnalysisJob(
                row.id,
                sources,
                candidate.embedding,
                dict(exam.policy),
                duration,
                spec,
                claim,
                deadline_s=allowed,
                attempt=row.job_attempts,
            )

    def renew(self, node: str, lease_s: float) -> int:
        """Extend the lease of every job `node` holds whose start is still within its deadline; returns how many.
        A start past its deadline keeps its lease only until that runs out: then any node gives the job back."""
        within = or_(SessionRow.job_deadline_at.is_(None), SessionRow.job_deadline_at > db_time())
        with self.store.write() as db:
            renewed = db.execute(
                update(SessionRow)
                .where(SessionRow.job_node == node, SessionRow.job_state == "running", within)
                .values(job_lease_until=db_time(lease_s))
                .execution_options(synchronize_session=False)
            )
            return _rowcount(renewed)

    def requeue_lost(self, node: str | None = None) -> list[str]:
        """Queue again the running jobs nobody vouches for: lease run out, or never leased (started outside a
        worker); with `node`, also those this node held before it restarted. Returns their sessions."""
        lost: ColumnElement[bool] = or_(SessionRow.job_lease_until.is_(None), SessionRow.job_lease_until < db_time())
        if node is not None:
            lost = or_(lost, SessionRow.job_node == node)
        with self.store.sessions() as db:
            seen = db.execute(select(SessionRow.id, SessionRow.job_node).where(SessionRow.job_state == "running", lost))
            candidates = [(session_id, holder) for session_id, holder in seen]
        requeued = []
        for session_id, holder in candidates:
            with self.store.write() as db:  # the same condition again: a lease renewed meanwhile is kept
                changed = db.execute(
                    update(SessionRow)
                    .where(SessionRow.id == session_id, SessionRow.job_state == "running", lost)
                    .values(**QUEUED)
                    .execution_options(synchronize_session=False)
                )
            if _rowcount(changed) == 1:
                logger.warning("re-queueing the analysis of session %s: node %s no longer holds it", session_id, holder)
                requeued.append(session_id)
        return requeued

    def release(
        self, session_id: str, claim: str, *, refund: bool = False, reason: str = "", retry_after_s: float = 0.0
    ) -> bool:
        """Give a claimed job back to the queue (its worker was lost): a claim after `retry_after_s` runs it again,
        and `reason` is kept as the job's error until then. With `refund` (the platform's trouble, not the
        job's: the node is stopping, the cluster is away) the start is not counted."""
        values: dict[str, object] = {**QUEUED, "job_attempts": SessionRow.job_attempts - (1 if refund else 0)}
        if reason:
            values["job_error"] = reason[:2000]
        if retry_after_s > 0:
            values["job_retry_at"] = db_time(retry_after_s)
        with self.store.write() as db:
            changed = db.execute(
                update(SessionRow)
                .where(*_holding(claim), SessionRow.id == session_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return _rowcount(changed) == 1

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
            for column, value in QUEUED.items():
                setattr(row, column, value)
            row.job_attempts = 0
            row.job_error = None
            row.job_retry_at = None
            row.job_queued_at = utcnow()
            return row

    def reanalyse_exam(self, college_id: str, exam_id: str) -> tuple[list[str], int]:
        """Queue a new analysis run of every analysed session of an exam that has a kept upload (bulk
        re-analysis, e.g. after a model update); returns the queued sessions and how many were left out."""
        with self.store.sessions() as db:
            college_exam(db, college_id, exam_id)
            sessions = list(
                db.scalars(select(SessionRow.id).where(SessionRow.exam_id == exam_id).order_by(SessionRow.id))
            )
        queued: list[str] = []
        for session_id in sessions:
            try:
                row = self.reanalyse(college_id, session_id)
            except StateError:
                continue
            if row.job_state == "queued":
                queued.append(session_id)
        return queued, len(sessions) - len(queued)

    def progress(self, session_id: str, share: float, claim: str | None = None, worker: str | None = None) -> None:
        """Record how much of a running job's recording is analysed (0–1), and where it runs."""
        values: dict[str, object] = {"job_progress": round(min(1.0, max(0.0, share)), 3)}
        if worker:
            values["job_worker"] = worker
        with self.store.write() as db:
            db.execute(
                update(SessionRow)
                .where(SessionRow.id == session_id, *_holding(claim))
                .values(**values)
                .execution_options(synchronize_session=False)
            )

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
        # names of this attempt's own: a second finisher of the same run never touches the first one's files
        # (files of an attempt that died before committing stay until retention removes the session's folder)
        tag = uuid.uuid4().hex[:8]
        storage = self.store.storage
        keys = {
            image.seq: self.store.put_bytes(f"{prefix}/evidence/{image.seq:04d}-{tag}.jpg", image.jpeg)
            for image in result.evidence
        }
        photos = store_face_photos(self.store, f"{prefix}/faces", result.faces, tag)
        stored = [*keys.values(), *photos.values()]
        with self.store.kept_until_commit(stored), self.store.write() as db:
            # the run is taken by one conditional UPDATE (the first statement: on PostgreSQL a second finisher
            # waits for the row, then finds it taken; on SQLite it is the write lock)
            taken = db.execute(
                update(SessionRow)
                .where(SessionRow.id == result.session_id, SessionRow.analysis_run == run - 1, *_holding(claim))
                .values(analysis_run=run)
                .execution_options(synchronize_session=False)
            )
            row = db.get(SessionRow, result.session_id) if _rowcount(taken) == 1 else None
            if row is None:
                logger.info("a duplicate result of session %s was not kept", result.session_id)
                for key in stored:
                    storage.delete(key)
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
            row.score = result.score
            row.report = result.report
            if row.live_started_at is None:  # an upload: its identity is what this analysis could check
                row.identity = None if result.report.get("identity_checked", True) else "not_checked"
            row.status = move(row.status, Status.ANALYSED).value
            row.job_state = "done"
            row.job_progress = 1.0
            row.job_lease_until = None
            row.job_deadline_at = None
            row.job_error = None
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
                facts = self.store.facts(db, row)
                duration = float(result.report.get("analysed_duration_s", 0.0))
                statement = analysed_statement(facts, result.score, counts, duration, run=run)
                self.store.statement_sink(db, facts.college_id, statement)
            return row

    def fail(self, session_id: str, error: str, claim: str | None = None) -> bool:
        """Record that a running job failed — only while `claim`, if given, still holds it: a start that lost its
        job never overwrites what the start holding it (or its result) says. Whether it was recorded."""
        with self.store.write() as db:
            changed = db.execute(
                update(SessionRow)
                .where(SessionRow.id == session_id, *_holding(claim))
                .values(job_state="failed", job_error=error[:2000], job_lease_until=None, job_deadline_at=None)
                .execution_options(synchronize_session=False)
            )
            return _rowcount(changed) == 1


def _holds(row: SessionRow, claim: str | None) -> bool:
    """The job is running, under `claim` when one is given."""
    return row.job_state == "running" and (claim is None or row.job_claim == claim)


def _holding(claim: str | None) -> list[ColumnElement[bool]]:
    """The same as SQL conditions."""
    running = SessionRow.job_state == "running"
    return [running] if claim is None else [running, SessionRow.job_claim == claim]


def _rowcount(result: Any) -> int:
    """Rows an UPDATE changed."""
    return int(getattr(result, "rowcount", 0) or 0)


def eta_s(started_at: datetime | None, share: float | None, now: datetime | None = None) -> float | None:
    """Seconds until a running job is done, from its pace so far (None until it has made progress)."""
    if started_at is None or share is None or share <= 0.0 or share >= 1.0:
        return None
    if started_at.tzinfo is None:  # SQLite gives naive UTC back
        started_at = started_at.replace(tzinfo=UTC)
    elapsed = ((now or datetime.now(UTC)) - started_at).total_seconds()
    return round(max(0.0, elapsed * (1.0 - share) / share), 1)
