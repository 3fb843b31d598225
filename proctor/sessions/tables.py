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
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from footprint.store import Base


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CandidateRow(Base):
    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("exam_id", "external_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    exam_id: Mapped[str] = mapped_column(ForeignKey("exams.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(128))
    full_name: Mapped[str] = mapped_column(String(300))
    photo_key: Mapped[str] = mapped_column(String(300))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SessionRow(Base):
    __tablename__ = "exam_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    exam_id: Mapped[str] = mapped_column(ForeignKey("exams.id"), index=True)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidates.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    join_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    join_used: Mapped[bool] = mapped_column(Boolean, default=False)
    job_state: Mapped[str] = mapped_column(String(16), default="none", index=True)
    job_attempts: Mapped[int] = mapped_column(Integer, default=0)
    job_error: Mapped[str | None] = mapped_column(Text)
    job_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    job_progress: Mapped[float | None] = mapped_column(Float)
    """Share of the recording analysed by the running job (0–1), written every few seconds."""
    analysis_run: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float | None] = mapped_column(Float)
    report: Mapped[dict[str, object] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    analysed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ChunkRow(Base):
    __tablename__ = "recording_chunks"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    container: Mapped[str] = mapped_column(String(16))
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    """Degrees (counter-clockwise) that turn the chunk's frames upright: its container may not keep the matrix."""
    storage_key: Mapped[str] = mapped_column(String(300))
    ledger_index: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


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


class DecisionRow(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    verdict: Mapped[str] = mapped_column(String(16))
    examiner: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
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
