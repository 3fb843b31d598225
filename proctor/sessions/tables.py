"""Tables of the exam-session service, on the platform's one declarative Base.

Events and decisions are append-only: a re-analysis or a changed verdict adds rows (a new analysis
run, a new decision), never edits old ones; recording chunks keep their sha256 and ledger index.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

import footprint.people  # noqa: F401  (registers the users an exam's examiners are)
from footprint.store import Base
from proctor.sessions.sealed_fields import SealedBytes


def utcnow() -> datetime:
    return datetime.now(UTC)


class ExamRow(Base):
    __tablename__ = "exams"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    college_id: Mapped[str] = mapped_column(ForeignKey("colleges.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    attestation: Mapped[str] = mapped_column(String(16))
    policy: Mapped[dict[str, object]] = mapped_column(JSON)
    opens_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_min: Mapped[int | None] = mapped_column(Integer)
    """Planned length of the exam: in-exam room scans are drawn within it."""
    content_url: Mapped[str | None] = mapped_column(String(2000))
    """Where the exam's questions are (the LMS quiz): the candidate's page shows it beside the proctoring."""
    gate_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The LMS quiz's password, encrypted (`proctor/sessions/gate.py`): the candidate's page shows it only inside a
    session in progress."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CandidateRow(Base):
    __tablename__ = "candidates"
    __table_args__ = (
        UniqueConstraint("exam_id", "external_id"),
        Index("ix_candidates_lti", "exam_id", "lti_platform_id", "lti_sub"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    exam_id: Mapped[str] = mapped_column(ForeignKey("exams.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(128))
    full_name: Mapped[str] = mapped_column(String(300))
    photo_key: Mapped[str | None] = mapped_column(String(300))
    """The reference photo; None for a candidate who came through the LMS before the college sent one."""
    embedding: Mapped[bytes | None] = mapped_column(SealedBytes)
    """The reference photo's face embedding, encrypted at rest (proctor/sessions/sealed_fields.py)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    email: Mapped[str | None] = mapped_column(String(254))
    lti_platform_id: Mapped[str | None] = mapped_column(String(36))
    """The LTI platform the candidate came through, with their `sub` there (`proctor/lti`)."""
    lti_sub: Mapped[str | None] = mapped_column(String(255))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the course roster no longer listed the candidate (they keep their sessions)."""
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When an erasure request removed the person's media and biometric data (proctor/sessions/erasure.py)."""


class SessionRow(Base):
    __tablename__ = "exam_sessions"
    __table_args__ = (Index("ix_exam_sessions_job_queue", "job_state", "job_queued_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    exam_id: Mapped[str] = mapped_column(ForeignKey("exams.id"), index=True)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidates.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    join_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    join_used: Mapped[bool] = mapped_column(Boolean, default=False)
    side_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    """The side camera's token (`proctor/sessions/side_camera.py`), once the candidate's page showed its link."""
    job_state: Mapped[str] = mapped_column(String(16), default="none", index=True)
    job_attempts: Mapped[int] = mapped_column(Integer, default=0)
    job_error: Mapped[str | None] = mapped_column(Text)
    job_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    job_progress: Mapped[float | None] = mapped_column(Float)
    """Share of the recording analysed by the running job (0–1), written every few seconds."""
    job_node: Mapped[str | None] = mapped_column(String(128))
    """The platform node that holds the running job (any node re-queues it once its lease has run out)."""
    job_claim: Mapped[str | None] = mapped_column(String(36))
    """Names one start of the job: a result is kept only from the start that still holds the job."""
    job_lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Until when the holding node vouches for the running job; it renews the lease while the job runs."""
    job_worker: Mapped[str | None] = mapped_column(String(200))
    """Where the job runs or last ran: `local:HOST:PID` or `ray:NODE:PID`."""
    job_queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the job was queued (an upload, a re-analysis): jobs are claimed in this order."""
    job_retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """A job given back after its worker was lost waits until then (the database's clock) before it runs again."""
    job_deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Until when the running start may run; its lease is no longer renewed after that, so it goes back."""
    analysis_run: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float | None] = mapped_column(Float)
    report: Mapped[dict[str, object] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    analysed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    live_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Wall time of the first live media: time zero of a live session's timeline."""
    live_last_s: Mapped[float | None] = mapped_column(Float)
    """The latest media time of a live session that was stored (a restart resumes after it)."""
    identity: Mapped[str | None] = mapped_column(String(16))
    """Outcome of the live identity check: verified, unverified (failed after the retries) or not_checked."""
    consent: Mapped[str | None] = mapped_column(String(16))
    """The candidate's answer on the exam page: accepted or declined (None before the page asked)."""
    media_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recording_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """A finished live session takes recording parts until then (the database's clock), unless sealed sooner."""
    recording_sealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """The kept recording is sealed: no part is taken any more."""
    recording_check: Mapped[str | None] = mapped_column(String(16))
    """What the seal found: `verified`, `mismatch` (a part shows what the analysis did not see) or `unverified`."""
    lti_link_id: Mapped[int | None] = mapped_column(Integer)
    """The LTI resource link the candidate launched the session from: its verdicts go back to that platform."""
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """A hold on the session's data (an appeal of its verdict, a dispute): neither retention nor an erasure request
    removes it until the hold is lifted (proctor/sessions/holds.py)."""
    hold_reason: Mapped[str | None] = mapped_column(String(500))
    """When retention had purged every kept file of the session (its rows marked, its files deleted): done for good."""


class TransitionRow(Base):
    """A move of a session's lifecycle, with what caused it; results (identity, room scan) are in the ledger."""

    __tablename__ = "session_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    at_s: Mapped[float | None] = mapped_column(Float)
    """When on the session's timeline (live sessions)."""
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    ledger_index: Mapped[int | None] = mapped_column(Integer)


class RecordingRunRow(Base):
    """One continuous recording a live client sends in parts (a MediaRecorder run: parts only play joined)."""

    __tablename__ = "recording_runs"
    __table_args__ = (UniqueConstraint("session_id", "run"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    run: Mapped[str] = mapped_column(String(64))
    """The client's name for the run (it resumes the same run after a reconnect)."""
    start_s: Mapped[float] = mapped_column(Float)
    """Where the run starts on the session's timeline."""
    track: Mapped[str] = mapped_column(String(16), default="camera", server_default="camera")
    """What the run records: the camera (with the microphone), or the candidate's shared screen."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    parts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Parts kept so far: the next one is this number (parts come in order, each once)."""
    stream: Mapped[dict[str, object] | None] = mapped_column(JSON)
    """Where the run's stream was left after its last kept part (`proctor/recording/webm.py` StreamState)."""
    origin_s: Mapped[float | None] = mapped_column(Float)
    """The stream time of the run's first block: it lies at `start_s` on the session's timeline."""
    end_s: Mapped[float | None] = mapped_column(Float)
    """The session time of the run's last block so far."""


class ChunkRow(Base):
    __tablename__ = "recording_chunks"
    __table_args__ = (UniqueConstraint("session_id", "seq"), UniqueConstraint("run_id", "part"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    container: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("recording_runs.id"), index=True)
    """For a part of a live client's recording: its run (the part plays only joined to the run's others)."""
    part: Mapped[int | None] = mapped_column(Integer)
    """The part's number in its run."""
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    """Degrees (counter-clockwise) that turn the chunk's frames upright: its container may not keep the matrix."""
    storage_key: Mapped[str] = mapped_column(String(300))
    ledger_index: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    samples: Mapped[bytes | None] = mapped_column(LargeBinary)
    """A live part's keyframe signatures (`proctor/recording/signature.py`), for the seal's check."""
    views: Mapped[list[list[float]] | None] = mapped_column(JSON)
    """A side-camera part's keyframes as its analysis saw them: `[at_s, people, hands]` each
    (`proctor/analyzers/sideview.py`)."""


class FrameSignatureRow(Base):
    """Signatures of the frames a live session's analysis received, a batch a row (the seal compares the kept
    recording with them)."""

    __tablename__ = "frame_signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    first_s: Mapped[float] = mapped_column(Float)
    signatures: Mapped[bytes] = mapped_column(LargeBinary)


class UploadRow(Base):
    """One accepted recording upload: a retry of the same file (or the same Idempotency-Key) is this upload."""

    __tablename__ = "recording_uploads"
    __table_args__ = (UniqueConstraint("session_id", "sha256"), UniqueConstraint("session_id", "idempotency_key"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    first_seq: Mapped[int] = mapped_column(Integer)
    chunks: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EventRow(Base):
    __tablename__ = "session_events"
    __table_args__ = (UniqueConstraint("session_id", "analysis_run", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    analysis_run: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32), index=True)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float)
    technical: Mapped[bool] = mapped_column(Boolean)
    peak_s: Mapped[float] = mapped_column(Float)
    measurements: Mapped[dict[str, object]] = mapped_column(JSON)
    evidence_key: Mapped[str | None] = mapped_column(String(300))
    evidence_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(8), default="closed")
    """open while a live event is still happening (its end is provisional), closed once it ended."""
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When a live event was stored as open (the delay from the media is the live path's latency)."""
    detected_s: Mapped[float | None] = mapped_column(Float)
    """Session time of the media that made a live event open (its rule's persistence window was met)."""


class DecisionRow(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    verdict: Mapped[str] = mapped_column(String(16))
    examiner: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    ledger_index: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    """The signed-in examiner who decided (None for a verdict sent through the college API by a key)."""


class EventReviewRow(Base):
    """An examiner's decision on one flagged event: confirmed, dismissed, or a note; append-only (a change of
    mind is a new row), each with its ledger record."""

    __tablename__ = "event_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    analysis_run: Mapped[int] = mapped_column(Integer)
    event_seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    """confirmed, dismissed or noted."""
    note: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    examiner: Mapped[str] = mapped_column(String(300))
    """The examiner's full name when they decided."""
    ledger_index: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SessionFaceRow(Base):
    """A face the analysis saw at the candidate's place: the mean embedding of the identity checks of one person
    (a cluster), how often and when, and a crop of it, so the exam's sessions can be compared for one person
    sitting for several candidates."""

    __tablename__ = "session_faces"
    __table_args__ = (UniqueConstraint("session_id", "analysis_run", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    analysis_run: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[bytes] = mapped_column(SealedBytes)
    """128 float64 values (as the candidates' reference embeddings), encrypted at rest; empty once purged."""
    checks: Mapped[int] = mapped_column(Integer)
    first_s: Mapped[float] = mapped_column(Float)
    last_s: Mapped[float] = mapped_column(Float)
    reference_distance: Mapped[float | None] = mapped_column(Float)
    """Distance of the mean embedding to the candidate's enrolled photo."""
    photo_key: Mapped[str | None] = mapped_column(String(300))
    photo_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When retention deleted the crop (a face is biometric data: it goes with the recording)."""


class ExamWeightingRow(Base):
    """A change of an exam's score weights by an admin (every session re-scored, nothing re-analysed)."""

    __tablename__ = "exam_weightings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    exam_id: Mapped[str] = mapped_column(ForeignKey("exams.id"), index=True)
    weights: Mapped[dict[str, object]] = mapped_column(JSON)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    sessions: Mapped[int] = mapped_column(Integer)
    """How many sessions were re-scored."""
    ledger_index: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookRow(Base):
    __tablename__ = "college_webhooks"

    college_id: Mapped[str] = mapped_column(ForeignKey("colleges.id"), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(128))


class DeliveryRow(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    college_id: Mapped[str] = mapped_column(ForeignKey("colleges.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(500))
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExamExaminerRow(Base):
    """An examiner assigned to an exam: they see its sessions (a college's admins see every exam)."""

    __tablename__ = "exam_examiners"

    exam_id: Mapped[str] = mapped_column(ForeignKey("exams.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RetentionPolicyRow(Base):
    """How long a college keeps each kind of personal data, in days (None: the platform's default,
    proctor/sessions/retention.py)."""

    __tablename__ = "retention_policies"

    college_id: Mapped[str] = mapped_column(ForeignKey("colleges.id"), primary_key=True)
    recordings_days: Mapped[int | None] = mapped_column(Integer)
    evidence_days: Mapped[int | None] = mapped_column(Integer)
    faces_days: Mapped[int | None] = mapped_column(Integer)
    reference_photos_days: Mapped[int | None] = mapped_column(Integer)
    page_events_days: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdDocumentRow(Base):
    """One ID-card check at the door (proctor/identity_document): its outcome for the examiner and the card's
    picture (biometric: purged with the session's faces); the full IIN is never kept apart from the picture."""

    __tablename__ = "id_documents"
    __table_args__ = (UniqueConstraint("session_id", "attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[dict[str, object]] = mapped_column(JSON)
    """DocumentCheck.to_json(): IIN valid (masked), name match, face distances, timings."""
    picture_key: Mapped[str | None] = mapped_column(String(300))
    picture_sha256: Mapped[str] = mapped_column(String(64))
    picture_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    card_embedding: Mapped[bytes | None] = mapped_column(SealedBytes)
    """The card face's embedding: the candidate's reference once an examiner confirms it (no enrolled photo)."""
    reference_confirmed_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    reference_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ledger_index: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
