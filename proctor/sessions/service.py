"""The exam-session service: exams, candidates, sessions, kept recordings, analysis results, verdicts.

Every method takes the caller's college id and treats another college's objects as not found. Writes
are all-or-nothing: stored files are removed again when the database transaction does not commit.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from footprint.ledger import Ledger, canonical
from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEncoder, enroll_reference
from proctor.errors import InputError, RecordingError, ReferencePhotoError
from proctor.policy import PRESETS, policy_from_dict
from proctor.recording.segmenter import segment_recording
from proctor.recording.storage import LocalStorage
from proctor.sessions.errors import InvalidInputError, NotFoundError, StateError
from proctor.sessions.job import AnalysisJob, JobResult, JobSource
from proctor.sessions.lifecycle import VERDICTS, Status, move
from proctor.sessions.retention import PurgeReport, purge_expired
from proctor.sessions.statements import SessionFacts, analysed_statement, verdict_statement
from proctor.sessions.tables import (
    CandidateRow,
    ChunkRow,
    DecisionRow,
    EventRow,
    ExamRow,
    SessionRow,
    utcnow,
)

logger = logging.getLogger(__name__)

Writer = Callable[[], AbstractContextManager[Session]]
"""Opens one write transaction (the web app serialises SQLite writers through its own lock)."""

StatementSink = Callable[[Session, dict[str, Any]], None]
"""Stores an xAPI statement in the footprint inside the caller's transaction."""


@dataclass(frozen=True)
class ServiceConfig:
    """Settings of the session service."""

    base_url: str
    chunk_s: float = 10.0
    retention_days: int = 365


class SessionService:
    """Business rules of exam sessions over the platform database, storage and ledger."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        storage: LocalStorage,
        ledger: Ledger,
        config: ServiceConfig,
        statement_sink: StatementSink | None = None,
        writer: Writer | None = None,
    ) -> None:
        self.sessions = sessions
        self._write: Writer = writer or sessions.begin
        self.storage = storage
        self.ledger = ledger
        self.config = config
        self.statement_sink = statement_sink
        self._face_lock = threading.Lock()
        self._faces: tuple[FaceDetector, FaceEncoder] | None = None

    # -- exams and candidates -------------------------------------------------------------------

    def create_exam(
        self,
        college_id: str,
        title: str,
        attestation: str,
        policy: dict[str, Any] | None,
        opens_at: datetime | None = None,
        closes_at: datetime | None = None,
    ) -> ExamRow:
        if attestation not in PRESETS:
            raise InvalidInputError(f"attestation must be one of {', '.join(PRESETS)}")
        document = {"base": attestation, **(policy or {})}
        try:
            checked = policy_from_dict(document, source="policy")
        except InputError as exc:  # names the field that is wrong
            raise InvalidInputError(str(exc)) from exc
        if opens_at and closes_at and closes_at <= opens_at:
            raise InvalidInputError("closes_at must be after opens_at")
        exam = ExamRow(
            id=str(uuid.uuid4()),
            college_id=college_id,
            title=title,
            attestation=attestation,
            policy=checked.model_dump(mode="json"),
            opens_at=opens_at,
            closes_at=closes_at,
        )
        with self._write() as db:
            db.add(exam)
        return exam

    def exam(self, db: Session, college_id: str, exam_id: str) -> ExamRow:
        exam = db.get(ExamRow, exam_id)
        if exam is None or exam.college_id != college_id:
            raise NotFoundError(f"no exam {exam_id}")
        return exam

    def add_candidate(
        self, college_id: str, exam_id: str, external_id: str, full_name: str, photo: bytes
    ) -> CandidateRow:
        """Enrol a candidate: the reference photo must show exactly one sharp, large enough face."""
        data = np.frombuffer(photo, dtype=np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is None:
            raise InvalidInputError("the reference photo is not a readable image (JPEG, PNG, …)")
        with self.sessions() as db:
            exam = self.exam(db, college_id, exam_id)
            policy = policy_from_dict(exam.policy)
        with self._face_lock:
            if self._faces is None:
                self._faces = (FaceDetector(), FaceEncoder())
            detector, encoder = self._faces
            try:
                embedding = enroll_reference(np.ascontiguousarray(image), detector, encoder, policy.identity)
            except ReferencePhotoError as exc:
                raise InvalidInputError(str(exc)) from exc
        candidate_id = str(uuid.uuid4())
        key = f"{college_id}/{exam_id}/candidates/{candidate_id}.jpg"
        with self._stored(key, photo) as stored:
            candidate = CandidateRow(
                id=candidate_id,
                exam_id=exam_id,
                external_id=external_id,
                full_name=full_name,
                photo_key=stored,
                embedding=embedding.vector.astype(np.float64).tobytes(),
            )
            with self._write() as db:
                existing = db.scalar(
                    select(CandidateRow).where(CandidateRow.exam_id == exam_id, CandidateRow.external_id == external_id)
                )
                if existing is not None:
                    raise StateError(f"candidate {external_id!r} is already enrolled in this exam")
                db.add(candidate)
        return candidate

    # -- sessions -------------------------------------------------------------------------------

    def create_session(self, college_id: str, exam_id: str, candidate_id: str) -> tuple[SessionRow, str]:
        """A new session and the candidate's one-time join token (only its hash is stored)."""
        token = secrets.token_urlsafe(24)
        with self._write() as db:
            self.exam(db, college_id, exam_id)
            candidate = db.get(CandidateRow, candidate_id)
            if candidate is None or candidate.exam_id != exam_id:
                raise NotFoundError(f"no candidate {candidate_id} in exam {exam_id}")
            row = SessionRow(
                id=str(uuid.uuid4()),
                exam_id=exam_id,
                candidate_id=candidate_id,
                status=Status.SCHEDULED.value,
                join_token_hash=hashlib.sha256(token.encode()).hexdigest(),
                job_state="none",
            )
            db.add(row)
        return row, token

    def session(self, db: Session, college_id: str, session_id: str) -> SessionRow:
        row = db.get(SessionRow, session_id)
        if row is None:
            raise NotFoundError(f"no session {session_id}")
        self.exam(db, college_id, row.exam_id)  # another college's session is not found
        return row

    def accept_recording(self, college_id: str, session_id: str, upload: Path) -> SessionRow:
        """Keep an uploaded recording as hashed chunks (appended to the ledger) and queue its analysis.

        A later upload continues the session's timeline after the previous chunks.
        """
        with self.sessions() as db:
            row = self.session(db, college_id, session_id)
            move(row.status, Status.SUBMITTED)
            previous = db.scalars(
                select(ChunkRow).where(ChunkRow.session_id == session_id).order_by(ChunkRow.seq)
            ).all()
            offset = max((c.start_s + c.duration_s for c in previous), default=0.0)
            first_seq = len(previous)
            exam_id = row.exam_id
        staging = Path(tempfile.mkdtemp(prefix=".upload.", dir=self.storage.root))
        stored: list[str] = []
        try:
            try:
                chunks = segment_recording(upload, staging / "chunks", self.config.chunk_s, first_seq)
            except RecordingError as exc:
                raise InvalidInputError(str(exc)) from exc
            prefix = f"{college_id}/{exam_id}/{session_id}/recording"
            with self._write() as db:
                row = self.session(db, college_id, session_id)
                move(row.status, Status.SUBMITTED)
                for chunk in chunks:
                    key = f"{prefix}/{chunk.path.name}"
                    self.storage.put(key, chunk.path)
                    stored.append(key)
                    entry = self.ledger.append(
                        db,
                        "recording_chunk",
                        f"{session_id}/{chunk.index}",
                        {
                            "session": session_id,
                            "seq": chunk.index,
                            "sha256": chunk.sha256,
                            "size": chunk.size,
                            "start_s": round(offset + chunk.start_s, 3),
                            "duration_s": chunk.duration_s,
                        },
                    )
                    db.add(
                        ChunkRow(
                            session_id=session_id,
                            seq=chunk.index,
                            start_s=offset + chunk.start_s,
                            duration_s=chunk.duration_s,
                            sha256=chunk.sha256,
                            size=chunk.size,
                            container=chunk.container,
                            storage_key=key,
                            ledger_index=entry.index,
                        )
                    )
                row.status = Status.SUBMITTED.value
                row.job_state = "queued"
            return row
        except BaseException:
            for key in stored:
                path = self.storage.local_path(key)
                path.unlink(missing_ok=True)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def pending_jobs(self) -> list[str]:
        """Sessions whose analysis is queued or was running when the server stopped."""
        with self.sessions() as db:
            return list(db.scalars(select(SessionRow.id).where(SessionRow.job_state.in_(("queued", "running")))))

    def start_job(self, session_id: str) -> AnalysisJob | None:
        """Mark a queued session as running and describe its job (None if nothing to do)."""
        with self._write() as db:
            row = db.get(SessionRow, session_id)
            if row is None or row.job_state not in ("queued", "running"):
                return None
            chunks = db.scalars(select(ChunkRow).where(ChunkRow.session_id == session_id).order_by(ChunkRow.seq)).all()
            candidate = db.get(CandidateRow, row.candidate_id)
            exam = db.get(ExamRow, row.exam_id)
            if candidate is None or exam is None or not chunks:
                row.job_state, row.job_error = "failed", "nothing to analyse"
                return None
            row.job_state = "running"
            row.job_attempts += 1
            sources = tuple(JobSource(str(self.storage.local_path(c.storage_key)), c.start_s) for c in chunks)
            return AnalysisJob(session_id, sources, candidate.embedding, dict(exam.policy))

    def finish_job(self, result: JobResult) -> SessionRow | None:
        """Persist an analysis in one transaction: events, score, ledger record, footprint statement."""
        with self.sessions() as db:
            row = db.get(SessionRow, result.session_id)
            if row is None or row.job_state != "running":
                return None  # already persisted (a duplicate run after a restart)
            run = row.analysis_run + 1
            exam = db.get(ExamRow, row.exam_id)
            if exam is None:
                raise NotFoundError(f"exam of session {row.id} is gone")
            prefix = f"{exam.college_id}/{exam.id}/{row.id}/run{run}"
        self.storage.delete_prefix(prefix)  # leftovers of a run that crashed before committing
        keys: dict[int, str] = {}
        for image in result.evidence:
            tmp = Path(tempfile.mkstemp(suffix=".jpg", dir=self.storage.root)[1])
            tmp.write_bytes(image.jpeg)
            key = f"{prefix}/evidence/{image.seq:04d}.jpg"
            self.storage.put(key, tmp)
            keys[image.seq] = key
        with self._write() as db:
            row = db.get(SessionRow, result.session_id)
            if row is None or row.job_state != "running" or row.analysis_run + 1 != run:
                return None
            for seq, event in enumerate(result.events):
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
            counts: dict[str, int] = {}
            for event in result.events:
                counts[event["type"]] = counts.get(event["type"], 0) + 1
            row.analysis_run = run
            row.score = result.score
            row.report = result.report
            row.status = move(row.status, Status.ANALYSED).value
            row.job_state = "done"
            row.analysed_at = utcnow()
            self.ledger.append(
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
            if self.statement_sink is not None:
                facts = self.facts(db, row)
                duration = float(result.report.get("analysed_duration_s", 0.0))
                self.statement_sink(db, analysed_statement(facts, result.score, counts, duration))
            return row

    def fail_job(self, session_id: str, error: str) -> None:
        with self._write() as db:
            row = db.get(SessionRow, session_id)
            if row is not None:
                row.job_state, row.job_error = "failed", error[:2000]

    def events(self, college_id: str, session_id: str) -> list[EventRow]:
        """The events of the latest analysis run."""
        with self.sessions() as db:
            row = self.session(db, college_id, session_id)
            return list(
                db.scalars(
                    select(EventRow)
                    .where(EventRow.session_id == session_id, EventRow.analysis_run == row.analysis_run)
                    .order_by(EventRow.seq)
                )
            )

    # -- verdicts ---------------------------------------------------------------------------------

    def decide(self, college_id: str, session_id: str, verdict: str, examiner: str, note: str) -> DecisionRow:
        """Record an examiner's verdict (a new decision row each time; nothing is overwritten)."""
        target = Status(verdict) if verdict in {v.value for v in VERDICTS} else None
        if target is None:
            raise InvalidInputError(f"verdict must be one of {', '.join(v.value for v in VERDICTS)}")
        with self._write() as db:
            row = self.session(db, college_id, session_id)
            row.status = move(row.status, target).value
            revision = len(db.scalars(select(DecisionRow.id).where(DecisionRow.session_id == session_id)).all())
            entry = self.ledger.append(
                db,
                "proctoring_verdict",
                f"{session_id}/{revision}",
                {"session": session_id, "verdict": verdict, "examiner": examiner, "note": note},
            )
            decision = DecisionRow(
                session_id=session_id, verdict=verdict, examiner=examiner, note=note, ledger_index=entry.index
            )
            db.add(decision)
            if self.statement_sink is not None:
                self.statement_sink(db, verdict_statement(self.facts(db, row), verdict, examiner, revision))
        return decision

    def facts(self, db: Session, row: SessionRow) -> SessionFacts:
        exam = db.get(ExamRow, row.exam_id)
        candidate = db.get(CandidateRow, row.candidate_id)
        if exam is None or candidate is None:
            raise NotFoundError(f"exam or candidate of session {row.id} is gone")
        return SessionFacts(
            platform_url=self.config.base_url,
            college_id=exam.college_id,
            exam_id=exam.id,
            exam_title=exam.title,
            attestation=exam.attestation,
            session_id=row.id,
            candidate_external_id=candidate.external_id,
            candidate_name=candidate.full_name,
        )

    # -- retention --------------------------------------------------------------------------------

    def purge_expired(self, now: datetime | None = None) -> PurgeReport:
        """Delete recordings and evidence older than the retention period; the ledger records what and when."""
        return purge_expired(
            self.sessions, self._write, self.storage, self.ledger, self.config.retention_days, now or datetime.now(UTC)
        )

    @contextmanager
    def _stored(self, key: str, data: bytes) -> Iterator[str]:
        """Store bytes under key for the duration of a transaction; removed again if it fails."""
        tmp = Path(tempfile.mkstemp(dir=self.storage.root)[1])
        tmp.write_bytes(data)
        self.storage.put(key, tmp)
        try:
            yield key
        except BaseException:
            self.storage.local_path(key).unlink(missing_ok=True)
            raise
