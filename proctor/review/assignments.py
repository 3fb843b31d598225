"""Which examiners an exam has: an admin (through the college API or the desk) assigns a college's examiner to a
college's exam or takes them off. Admins are never assigned: they see every exam of their college."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from footprint.people import Person, Role, person_of
from proctor.sessions.errors import NotFoundError, StateError
from proctor.sessions.store import college_exam
from proctor.sessions.tables import ExamExaminerRow


def college_examiner(db: Session, college_id: str, user_id: str) -> Person:
    """The college's examiner (NotFoundError for another college's or an unknown person, StateError for an admin)."""
    person = person_of(db, college_id, user_id)
    if person is None:
        raise NotFoundError(f"no user {user_id}")
    if person.role != Role.EXAMINER:
        raise StateError(f"{person.email} is an {person.role.value}: admins see every exam already")
    return person


def assign(db: Session, college_id: str, exam_id: str, user_id: str) -> None:
    """Assign the examiner to the exam (assigning twice changes nothing)."""
    college_exam(db, college_id, exam_id)
    college_examiner(db, college_id, user_id)
    if db.get(ExamExaminerRow, (exam_id, user_id)) is None:
        db.add(ExamExaminerRow(exam_id=exam_id, user_id=user_id))


def unassign(db: Session, college_id: str, exam_id: str, user_id: str) -> None:
    """Take the examiner off the exam (when not assigned, nothing changes)."""
    college_exam(db, college_id, exam_id)
    college_examiner(db, college_id, user_id)
    assigned = db.get(ExamExaminerRow, (exam_id, user_id))
    if assigned is not None:
        db.delete(assigned)


def examiners_of(db: Session, college_id: str, exam_id: str) -> list[Person]:
    """The exam's examiners, by e-mail address."""
    college_exam(db, college_id, exam_id)
    ids = db.scalars(select(ExamExaminerRow.user_id).where(ExamExaminerRow.exam_id == exam_id)).all()
    people = [person_of(db, college_id, user_id) for user_id in ids]
    return sorted((p for p in people if p is not None), key=lambda p: p.email)


def exams_of(db: Session, user_id: str) -> set[str]:
    """The exams an examiner is assigned to."""
    return set(db.scalars(select(ExamExaminerRow.exam_id).where(ExamExaminerRow.user_id == user_id)))
