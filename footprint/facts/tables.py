"""Tables of the statement projection: one compact row of numbers per stored statement (revision 0010_footprint).

A fact is what the indicators need of a statement — its kind, time, actor, object, course, instructor,
score and flags — with every string replaced by the id of a term of the college (`footprint_terms`).
Indicators read these rows, never the statements' JSON, so a semester of a million statements loads as
a few numeric arrays. Facts are written in the transaction that stores their statements; `ledger_index`
says from which checkpoint on a fact counts.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from footprint.store import Base

ID = BigInteger().with_variant(Integer(), "sqlite")


class TermRow(Base):
    """A string of a college's statements (an agent key, an activity IRI, a verb, a name) and its number."""

    __tablename__ = "footprint_terms"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    college_id: Mapped[str] = mapped_column(String(36), ForeignKey("colleges.id"))
    digest: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("college_id", "digest"),)


class FactRow(Base):
    """The projection of one stored statement (its `seq`); term columns hold `footprint_terms` ids."""

    __tablename__ = "footprint_facts"

    seq: Mapped[int] = mapped_column(ID, ForeignKey("xapi_statements.seq"), primary_key=True, autoincrement=False)
    college_id: Mapped[str] = mapped_column(String(36))
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[int] = mapped_column(SmallInteger)
    category: Mapped[int] = mapped_column(SmallInteger)
    at: Mapped[int] = mapped_column(BigInteger)
    """The statement's `timestamp` in Unix seconds (when it happened, not when it was stored)."""
    actor: Mapped[int | None] = mapped_column(BigInteger)
    alias: Mapped[int | None] = mapped_column(BigInteger)
    """The actor's display name (`name:<lower case>`), kept for meeting statements (BigBlueButton names people)."""
    verb: Mapped[int | None] = mapped_column(BigInteger)
    """Only for verbs outside the vocabulary (so they can be counted)."""
    object: Mapped[int | None] = mapped_column(BigInteger)
    course: Mapped[int | None] = mapped_column(BigInteger)
    instructor: Mapped[int | None] = mapped_column(BigInteger)
    registration: Mapped[int | None] = mapped_column(BigInteger)
    raw: Mapped[float | None] = mapped_column(Float)
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    success: Mapped[int | None] = mapped_column(SmallInteger)
    completion: Mapped[int | None] = mapped_column(SmallInteger)
    late: Mapped[int | None] = mapped_column(SmallInteger)
    feedback: Mapped[int | None] = mapped_column(SmallInteger)
    verdict: Mapped[int | None] = mapped_column(SmallInteger)
    """A proctoring verdict: 1 confirmed, 2 annulled, 3 retake."""

    __table_args__ = (
        Index("ix_footprint_facts_college_ledger", "college_id", "ledger_index"),
        Index("ix_footprint_facts_college_actor", "college_id", "actor"),
        Index("ix_footprint_facts_college_alias", "college_id", "alias"),
    )
