"""Tables of the xAPI store, declared on the platform's single `Base` (revisions 0002_xapi, 0004_tenancy).

Every row belongs to one college: each college is its own learning record store (statement ids are
unique per college, as they are per LRS), and every read filters on `college_id` first. Statements
are written once and never changed: voiding is a row in `xapi_voids` written with the voiding
statement. A key table holds one row per (college; agent, activity, verb or registration; statement)
so that a query walks an index in `seq` order instead of scanning JSON.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from footprint.store import Base

SEQ = BigInteger().with_variant(Integer(), "sqlite")  # SQLite's INTEGER PRIMARY KEY is the rowid

DIRECT = 1
"""Relation of a key that is the statement's actor, verb, object or registration (the plain filters)."""
RELATED = 2
"""Relation of an agent/activity found elsewhere in the statement (only `related_agents`/`related_activities`)."""


class StatementRow(Base):
    """One stored statement: its full JSON as served, plus the columns that queries filter on."""

    __tablename__ = "xapi_statements"

    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=True)
    college_id: Mapped[str] = mapped_column(String(36), ForeignKey("colleges.id"))
    statement_id: Mapped[str] = mapped_column(String(36))
    stored: Mapped[str] = mapped_column(String(32))
    voids: Mapped[str | None] = mapped_column(String(36))
    payload: Mapped[str] = mapped_column(Text)
    ledger_index: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("college_id", "statement_id"),
        Index("ix_xapi_statements_college_stored", "college_id", "stored"),
        Index("ix_xapi_statements_college_seq", "college_id", "seq"),
    )


class StatementKeyRow(Base):
    """A filter key of a statement: `agent:<ifi>`, `activity:<iri>`, `verb:<iri>` or `registration:<uuid>`.

    A statement whose object is a StatementRef also carries the keys of its target, because the
    specification has queries return statements that target a matching statement.
    """

    __tablename__ = "xapi_statement_keys"

    college_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(2100), primary_key=True)
    seq: Mapped[int] = mapped_column(SEQ, ForeignKey("xapi_statements.seq"), primary_key=True)
    relation: Mapped[int] = mapped_column(SmallInteger)


class VoidRow(Base):
    """A statement id of a college voided by a (stored) voiding statement of the same college."""

    __tablename__ = "xapi_voids"

    college_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    voided_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    voiding_id: Mapped[str] = mapped_column(String(36))


class ActivityRow(Base):
    """The latest definition the store has seen for an activity (served by the Activities resource)."""

    __tablename__ = "xapi_activities"

    college_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(2048), primary_key=True)
    definition: Mapped[str] = mapped_column(Text)


class AttachmentRow(Base):
    """Attachment content by its SHA-2 (content-addressed, stored once per college)."""

    __tablename__ = "xapi_attachments"

    college_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sha2: Mapped[str] = mapped_column(String(128), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class DocumentRow(Base):
    """A State, Activity Profile or Agent Profile document (mutable, with an ETag)."""

    __tablename__ = "xapi_documents"

    college_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(2048), primary_key=True)
    agent_key: Mapped[str] = mapped_column(String(512), primary_key=True)
    registration: Mapped[str] = mapped_column(String(36), primary_key=True)
    document_id: Mapped[str] = mapped_column(String(2048), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    etag: Mapped[str] = mapped_column(String(64))
    updated: Mapped[str] = mapped_column(String(32))


def table(row: type[Base]) -> Table:
    """The Core table of a mapped class (for bulk inserts and selects)."""
    result = row.__table__
    if not isinstance(result, Table):
        raise TypeError(f"{row.__name__} is not mapped to a table")
    return result
