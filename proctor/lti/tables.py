"""Tables of the LTI tool, on the platform's one declarative Base (migration `0016_lti`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import proctor.sessions.tables  # noqa: F401  (exams and sessions the links and grade writes name)
from footprint.store import Base
from proctor.sessions.tables import utcnow


class ToolKeyRow(Base):
    """One of the tool's RSA signing keys: the newest signs; retired ones stay in the JWKS until they expire."""

    __tablename__ = "lti_tool_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PlatformRow(Base):
    """An LMS a college registered (issuer and client id name one registration, of one college)."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    college_id: Mapped[str] = mapped_column(ForeignKey("colleges.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    deployment_ids: Mapped[list[str]] = mapped_column(JSON)
    jwks_url: Mapped[str] = mapped_column(String(2000))
    auth_url: Mapped[str] = mapped_column(String(2000))
    token_url: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StateRow(Base):
    """A login the tool started (OIDC third-party initiation): its state (hashed) and nonce, used once."""

    __tablename__ = "lti_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("lti_platforms.id"))
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LinkRow(Base):
    """A resource link of a platform (an activity in a course) bound to one exam, with the course's services."""

    __tablename__ = "lti_links"
    __table_args__ = (UniqueConstraint("platform_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("lti_platforms.id"))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    exam_id: Mapped[str] = mapped_column(ForeignKey("exams.id"), index=True)
    context_id: Mapped[str | None] = mapped_column(String(255))
    memberships_url: Mapped[str | None] = mapped_column(String(2000))
    """NRPS: the course's roster."""
    lineitems_url: Mapped[str | None] = mapped_column(String(2000))
    """AGS: where the tool creates its line item."""
    lineitem_url: Mapped[str | None] = mapped_column(String(2000))
    """AGS: the "Proctoring review" line item the tool created (never the quiz's own grade)."""
    roster_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the course roster was last read into the exam's candidates (NRPS)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccountRow(Base):
    """A platform's user (`sub`) who signs in to the desk through launches: the person they are here."""

    __tablename__ = "lti_accounts"

    platform_id: Mapped[str] = mapped_column(ForeignKey("lti_platforms.id"), primary_key=True)
    sub: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GradeWriteRow(Base):
    """A score owed to a platform after a verdict: written with retries; a newer verdict supersedes it."""

    __tablename__ = "lti_grade_writes"
    __table_args__ = (Index("ix_lti_grade_writes_due", "done_at", "next_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("lti_links.id"))
    user_sub: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    superseded: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    ledger_index: Mapped[int | None] = mapped_column(Integer)
