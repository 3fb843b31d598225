"""Who may review what: a college's admins see every exam of the college, an examiner only the exams they are
assigned to. Everything else (another college's, an exam not assigned) is not found: one place decides it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from footprint.people import Person, Role
from proctor.errors import ProctorError
from proctor.sessions.errors import NotFoundError
from proctor.sessions.store import college_exam
from proctor.sessions.tables import ExamExaminerRow, ExamRow, SessionRow


@dataclass(frozen=True)
class Reviewer:
    """A signed-in admin or examiner, as the review rules see them."""

    user_id: str
    college_id: str
    full_name: str
    email: str
    role: Role

    @classmethod
    def of(cls, person: Person) -> Reviewer:
        return cls(person.id, person.college_id, person.full_name, person.email, person.role)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def visible_exams(reviewer: Reviewer) -> Select[ExamRow]:
    """The exams this reviewer may see, as a query (newest first)."""
    query = select(ExamRow).where(ExamRow.college_id == reviewer.college_id)
    if not reviewer.is_admin:
        assigned = select(ExamExaminerRow.exam_id).where(ExamExaminerRow.user_id == reviewer.user_id)
        query = query.where(ExamRow.id.in_(assigned))
    return query.order_by(ExamRow.created_at.desc(), ExamRow.id)


def reviewer_exam(db: Session, reviewer: Reviewer, exam_id: str) -> ExamRow:
    """The exam, if this reviewer may see it; NotFoundError otherwise (whatever the reason)."""
    exam = college_exam(db, reviewer.college_id, exam_id)
    if not reviewer.is_admin and db.get(ExamExaminerRow, (exam_id, reviewer.user_id)) is None:
        raise NotFoundError(f"no exam {exam_id}")
    return exam


@dataclass(frozen=True)
class SessionInExam:
    """A session a reviewer may see, with its exam."""

    session: SessionRow
    exam: ExamRow


def reviewer_session(db: Session, reviewer: Reviewer, session_id: str) -> SessionInExam:
    """The session and its exam, if this reviewer may see the exam; NotFoundError otherwise."""
    row = db.get(SessionRow, session_id)
    if row is None:
        raise NotFoundError(f"no session {session_id}")
    try:
        exam = reviewer_exam(db, reviewer, row.exam_id)
    except NotFoundError:
        raise NotFoundError(f"no session {session_id}") from None
    return SessionInExam(row, exam)


class NotAllowedError(ProctorError):
    """The reviewer may see this but not do it (an examiner changing an exam's weights): 403."""


def require_admin(reviewer: Reviewer, what: str) -> None:
    if not reviewer.is_admin:
        raise NotAllowedError(f"only the college's admins may {what}")
