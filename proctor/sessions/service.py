"""The exam-session service: exams, candidates, sessions and verdicts; its recordings and analyses parts.

Every method takes the caller's college id and treats another college's objects as not found. Writes
are all-or-nothing: stored files are removed again when the database transaction does not commit.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from footprint.ledger import Ledger
from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEncoder, enroll_reference
from proctor.errors import InputError, ReferencePhotoError
from proctor.images import decode_photo
from proctor.lti import grades
from proctor.material.service import MaterialService
from proctor.policy import PRESETS, policy_from_dict
from proctor.recording.storage import Storage
from proctor.sessions.analyses import Analyses
from proctor.sessions.errors import InvalidInputError, NotFoundError, StateError
from proctor.sessions.gate import GateCipher, QuizGates
from proctor.sessions.id_documents import IdDocuments
from proctor.sessions.lifecycle import VERDICTS, Status, move
from proctor.sessions.live import LiveRecords
from proctor.sessions.parts import LiveParts
from proctor.sessions.playback import Playbacks
from proctor.sessions.recordings import Recordings
from proctor.sessions.retention import PurgeReport, purge_expired
from proctor.sessions.seal import RecordingSeals
from proctor.sessions.side_camera import SideCameras
from proctor.sessions.statements import Examiner, verdict_statement
from proctor.sessions.store import (
    ServiceConfig,
    SessionStore,
    StatementSink,
    Writer,
    college_exam,
    college_session,
)
from proctor.sessions.tables import CandidateRow, DecisionRow, EventRow, ExamRow, SessionRow

logger = logging.getLogger(__name__)

__all__ = ["ServiceConfig", "SessionService", "StatementSink", "Writer"]


class SessionService:
    """Business rules of exam sessions over the platform database, storage and ledger."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        storage: Storage,
        ledger: Ledger,
        config: ServiceConfig,
        statement_sink: StatementSink | None = None,
        writer: Writer | None = None,
    ) -> None:
        self.store = SessionStore(sessions, writer or sessions.begin, storage, ledger, config, statement_sink)
        self.recordings = Recordings(self.store)
        self.parts = LiveParts(self.store)
        self.seals = RecordingSeals(self.store)
        self.side_cameras = SideCameras(self.store)
        self.playbacks = Playbacks(self.store)
        self.analyses = Analyses(self.store)
        self.live = LiveRecords(self.store)
        self.gates = QuizGates(self.store, GateCipher(config.gate_key_file))
        self.id_documents = IdDocuments(self.store)
        self.material = MaterialService(self.store)
        self._face_lock = threading.Lock()
        self._faces: tuple[FaceDetector, FaceEncoder] | None = None

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.store.sessions

    @property
    def storage(self) -> Storage:
        return self.store.storage

    @property
    def ledger(self) -> Ledger:
        return self.store.ledger

    # -- exams and candidates -------------------------------------------------------------------

    def create_exam(
        self,
        college_id: str,
        title: str,
        attestation: str,
        policy: dict[str, Any] | None,
        opens_at: datetime | None = None,
        closes_at: datetime | None = None,
        *,
        duration_min: int | None = None,
        content_url: str | None = None,
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
            duration_min=duration_min,
            content_url=content_url,
        )
        with self.store.write() as db:
            db.add(exam)
        return exam

    def exam(self, db: Session, college_id: str, exam_id: str) -> ExamRow:
        return college_exam(db, college_id, exam_id)

    def add_candidate(
        self, college_id: str, exam_id: str, external_id: str, full_name: str, photo: bytes
    ) -> CandidateRow:
        """Enrol a candidate: the reference photo must show exactly one sharp, large enough face."""
        embedding = self._reference_embedding(college_id, exam_id, photo)
        candidate_id = str(uuid.uuid4())
        key = self.store.put_bytes(f"{college_id}/{exam_id}/candidates/{candidate_id}.jpg", photo)
        candidate = CandidateRow(
            id=candidate_id,
            exam_id=exam_id,
            external_id=external_id,
            full_name=full_name,
            photo_key=key,
            embedding=embedding,
        )
        with self.store.kept_until_commit([key]), self.store.write() as db:
            _refuse_enrolled(db, exam_id, external_id)
            db.add(candidate)
        return candidate

    def add_candidate_without_photo(
        self, college_id: str, exam_id: str, external_id: str, full_name: str, *, email: str | None = None
    ) -> CandidateRow:
        """Enrol a candidate who has no reference photo yet (one who came through the LMS): their identity is
        not checked until the college sends one (`set_reference_photo`). StateError if already enrolled."""
        candidate = CandidateRow(
            id=str(uuid.uuid4()),
            exam_id=exam_id,
            external_id=external_id,
            full_name=full_name,
            photo_key=None,
            embedding=None,
            email=email,
        )
        with self.store.write() as db:
            college_exam(db, college_id, exam_id)
            _refuse_enrolled(db, exam_id, external_id)
            db.add(candidate)
        return candidate

    def set_reference_photo(self, college_id: str, exam_id: str, candidate_id: str, photo: bytes) -> CandidateRow:
        """Make `photo` the candidate's reference photo (the same checks as enrolment), replacing any earlier one
        and its embedding; the ledger records it (`reference_photo`: the candidate and the photo's sha256)."""
        with self.store.sessions() as db:
            college_exam(db, college_id, exam_id)
            found = db.get(CandidateRow, candidate_id)
            if found is None or found.exam_id != exam_id:
                raise NotFoundError(f"no candidate {candidate_id} in exam {exam_id}")
        embedding = self._reference_embedding(college_id, exam_id, photo)
        digest = hashlib.sha256(photo).hexdigest()
        tag = uuid.uuid4().hex[:12]
        key = self.store.put_bytes(f"{college_id}/{exam_id}/candidates/{candidate_id}-{tag}.jpg", photo)
        with self.store.kept_until_commit([key]), self.store.write() as db:
            candidate = db.get(CandidateRow, candidate_id, with_for_update=True)
            if candidate is None or candidate.exam_id != exam_id:
                raise NotFoundError(f"no candidate {candidate_id} in exam {exam_id}")
            previous = candidate.photo_key
            candidate.photo_key, candidate.embedding = key, embedding
            record = {
                "candidate": candidate_id,
                "exam": exam_id,
                "sha256": digest,
                "replaced": previous is not None,
            }
            self.store.ledger.append(db, "reference_photo", f"{candidate_id}/{tag}", record)
        if previous is not None and previous != key:
            try:
                self.store.storage.delete(previous)
            except OSError:  # the new photo is in place; the old file is only left behind
                logger.warning("the earlier reference photo %s could not be removed", previous)
        return candidate

    def _reference_embedding(self, college_id: str, exam_id: str, photo: bytes) -> bytes:
        """The embedding of a reference photo for the exam's policy; InvalidInputError says what is wrong."""
        try:
            image = decode_photo(photo, "the reference photo")
        except ReferencePhotoError as exc:
            raise InvalidInputError(str(exc)) from exc
        with self.store.sessions() as db:
            policy = policy_from_dict(college_exam(db, college_id, exam_id).policy)
        with self._face_lock:
            if self._faces is None:
                self._faces = (FaceDetector(), FaceEncoder())
            detector, encoder = self._faces
            try:
                embedding = enroll_reference(image, detector, encoder, policy.identity)
            except ReferencePhotoError as exc:
                raise InvalidInputError(str(exc)) from exc
        return embedding.vector.astype(np.float64).tobytes()

    # -- sessions -------------------------------------------------------------------------------

    def create_session(self, college_id: str, exam_id: str, candidate_id: str) -> tuple[SessionRow, str]:
        """A new session and the candidate's one-time join token (only its hash is stored)."""
        token = secrets.token_urlsafe(24)
        with self.store.write() as db:
            college_exam(db, college_id, exam_id)
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
        return college_session(db, college_id, session_id)

    def events(self, college_id: str, session_id: str) -> list[EventRow]:
        """The events of the latest analysis run."""
        with self.store.sessions() as db:
            row = college_session(db, college_id, session_id)
            return list(
                db.scalars(
                    select(EventRow)
                    .where(EventRow.session_id == session_id, EventRow.analysis_run == row.analysis_run)
                    .order_by(EventRow.seq)
                )
            )

    # -- verdicts ---------------------------------------------------------------------------------

    def decide(
        self,
        college_id: str,
        session_id: str,
        verdict: str,
        examiner: str,
        note: str,
        *,
        signed_in: Examiner | None = None,
    ) -> DecisionRow:
        """Record an examiner's verdict (a new decision row each time; nothing is overwritten). Annulling a result
        or asking for a retake needs its reason in `note`; a signed-in examiner is named by their account."""
        target = Status(verdict) if verdict in {v.value for v in VERDICTS} else None
        if target is None:
            raise InvalidInputError(f"verdict must be one of {', '.join(v.value for v in VERDICTS)}")
        if target in (Status.ANNULLED, Status.RETAKE) and not note.strip():
            raise InvalidInputError(f"a {verdict} verdict needs its reason")
        with self.store.write() as db:
            row = college_session(db, college_id, session_id)
            db.refresh(row, with_for_update=True)  # one verdict of a session at a time: they are numbered
            row.status = move(row.status, target).value
            revision = db.scalar(select(func.count(DecisionRow.id)).where(DecisionRow.session_id == session_id)) or 0
            record: dict[str, Any] = {"session": session_id, "verdict": verdict, "examiner": examiner, "note": note}
            if signed_in is not None:
                record["examiner_id"] = signed_in.user_id
            entry = self.store.ledger.append(db, "proctoring_verdict", f"{session_id}/{revision}", record)
            decision = DecisionRow(
                session_id=session_id,
                verdict=verdict,
                examiner=examiner,
                note=note,
                ledger_index=entry.index,
                user_id=signed_in.user_id if signed_in is not None else None,
            )
            db.add(decision)
            grades.enqueue(db, row, verdict)  # the LMS's "Proctoring review" column, when launched from one
            if self.store.statement_sink is not None:
                facts = self.store.facts(db, row)
                statement = verdict_statement(
                    facts,
                    verdict,
                    examiner,
                    revision,
                    signed_in=signed_in,
                    reason=note if target != Status.CONFIRMED else "",
                )
                self.store.statement_sink(db, facts.college_id, statement)
        return decision

    # -- retention --------------------------------------------------------------------------------

    def purge_expired(self, now: datetime | None = None) -> PurgeReport:
        """Delete recordings and evidence older than the retention period; the ledger records what and when."""
        return purge_expired(self.store, now or datetime.now(UTC))


def _refuse_enrolled(db: Session, exam_id: str, external_id: str) -> None:
    """StateError when the exam already has a candidate with this external id."""
    existing = db.scalar(
        select(CandidateRow.id).where(CandidateRow.exam_id == exam_id, CandidateRow.external_id == external_id)
    )
    if existing is not None:
        raise StateError(f"candidate {external_id!r} is already enrolled in this exam")
