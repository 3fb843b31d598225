"""Tables of foreign-material checks (revision 0018_foreign_material): the college's texts — answers to its exams
and the reference sources it uploads — with their MinHash signatures, and the examiner's decisions on findings.

Both are append-only and carry their college: every read filters on it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import proctor.sessions.tables  # noqa: F401  (registers the exams an answer belongs to)
from footprint.store import Base
from proctor.sessions.tables import utcnow


class MaterialTextRow(Base):
    """One text of a college: an answer (of an exam, by a learner) or a reference source (a textbook, earlier
    answers), as received, with its signature rows (proctor/material/signatures.py)."""

    __tablename__ = "material_texts"
    __table_args__ = (UniqueConstraint("college_id", "statement_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    college_id: Mapped[str] = mapped_column(ForeignKey("colleges.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    """answer or source."""
    exam_id: Mapped[str | None] = mapped_column(ForeignKey("exams.id"), index=True)
    learner_id: Mapped[str | None] = mapped_column(String(128))
    """The learner's id at the college (the candidate's external id, the LMS account name)."""
    learner_name: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300))
    """The question, the source's title or the file's name."""
    origin: Mapped[str] = mapped_column(String(8))
    """api (text), file (an uploaded .txt/.docx/.pdf) or lrs (an LMS statement's result.response)."""
    statement_id: Mapped[str | None] = mapped_column(String(36))
    """The LRS statement an imported answer came from (imported once)."""
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(4))
    words: Mapped[int] = mapped_column(Integer)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MaterialDecisionRow(Base):
    """An examiner's decision on one finding of an answer: confirmed or dismissed (a change is a new row)."""

    __tablename__ = "material_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    college_id: Mapped[str] = mapped_column(ForeignKey("colleges.id"), index=True)
    text_id: Mapped[int] = mapped_column(ForeignKey("material_texts.id"), index=True)
    finding: Mapped[str] = mapped_column(String(32))
    """`copy` (the answer's matched passages) or `mixed_alphabets`."""
    action: Mapped[str] = mapped_column(String(16))
    share: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text)
    examiner: Mapped[str] = mapped_column(String(300))
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    statement_id: Mapped[str | None] = mapped_column(String(36))
    """The xAPI statement a confirmation put into the learner's footprint."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
