"""Read-only lists of a college's exams, candidates, sessions and verdicts, paged and filtered.

Every query starts from the college: an exam of another college lists nothing (its id is not found).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from proctor.sessions.store import college_exam
from proctor.sessions.tables import CandidateRow, DecisionRow, ExamRow, SessionRow

Row = TypeVar("Row", covariant=True)

MAX_PAGE = 200


@dataclass(frozen=True)
class Paging:
    """Which slice of a list: at most `limit` items after skipping `offset`."""

    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE or self.offset < 0:
            raise ValueError(f"limit must lie in 1..{MAX_PAGE} and offset must not be negative")


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a list and how many items the whole list holds."""

    items: Sequence[Row]
    total: int
    paging: Paging

    @property
    def has_more(self) -> bool:
        return self.paging.offset + len(self.items) < self.total


@dataclass(frozen=True)
class SessionFilter:
    """Filters of an exam's session list (None: any)."""

    status: str | None = None
    analysis: str | None = None
    min_score: float | None = None
    max_score: float | None = None


def _page(db: Session, query: Select[Any], order: Sequence[Any], paging: Paging) -> Page[Any]:
    total = int(db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)
    rows = db.scalars(query.order_by(*order).limit(paging.limit).offset(paging.offset)).all()
    return Page(rows, total, paging)


def exams(db: Session, college_id: str, paging: Paging, attestation: str | None = None) -> Page[ExamRow]:
    """The college's exams, newest first."""
    query = select(ExamRow).where(ExamRow.college_id == college_id)
    if attestation is not None:
        query = query.where(ExamRow.attestation == attestation)
    return _page(db, query, (ExamRow.created_at.desc(), ExamRow.id), paging)


def candidates(
    db: Session, college_id: str, exam_id: str, paging: Paging, external_id: str | None = None
) -> Page[CandidateRow]:
    """An exam's candidates in enrolment order."""
    college_exam(db, college_id, exam_id)
    query = select(CandidateRow).where(CandidateRow.exam_id == exam_id)
    if external_id is not None:
        query = query.where(CandidateRow.external_id == external_id)
    return _page(db, query, (CandidateRow.created_at, CandidateRow.id), paging)


def sessions(db: Session, college_id: str, exam_id: str, paging: Paging, where: SessionFilter) -> Page[SessionRow]:
    """An exam's sessions, highest score first (unscored last), so the ones to review come first."""
    college_exam(db, college_id, exam_id)
    query = select(SessionRow).where(SessionRow.exam_id == exam_id)
    if where.status is not None:
        query = query.where(SessionRow.status == where.status)
    if where.analysis is not None:
        query = query.where(SessionRow.job_state == where.analysis)
    if where.min_score is not None:
        query = query.where(SessionRow.score >= where.min_score)
    if where.max_score is not None:
        query = query.where(SessionRow.score <= where.max_score)
    order = (SessionRow.score.is_(None), SessionRow.score.desc(), SessionRow.created_at, SessionRow.id)
    return _page(db, query, order, paging)


def decisions(db: Session, session_id: str) -> list[DecisionRow]:
    """Every verdict given on a session, oldest first (a change is a new decision, never an edit)."""
    return list(db.scalars(select(DecisionRow).where(DecisionRow.session_id == session_id).order_by(DecisionRow.id)))
