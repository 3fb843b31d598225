"""A college's people who sign in: admins (the whole college) and examiners (the exams they are assigned to).

Passwords are hashed with Argon2id (argon2-cffi's defaults, rehashed when those defaults grow); the
plain password is never stored or logged. An e-mail address names one person on the whole platform
(it is what they sign in with), always in lower case.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from footprint.accounts import CollegeRow
from footprint.store import Base

MIN_PASSWORD_LENGTH = 10
hasher = PasswordHasher()


class Role(StrEnum):
    ADMIN = "admin"
    """Manages the college's people and sees every exam of the college."""
    EXAMINER = "examiner"
    """Reviews the sessions of the exams they are assigned to."""


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    college_id: Mapped[str] = mapped_column(ForeignKey("colleges.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Person:
    """Someone of a college who signs in (never with their password hash)."""

    id: str
    college_id: str
    email: str
    full_name: str
    role: Role
    created_at: datetime


class PeopleError(ValueError):
    """A person that cannot be created as asked (the message says why)."""


class EmailTaken(PeopleError):
    """The e-mail address already names someone (on this platform)."""


def person_from_row(row: UserRow) -> Person:
    """The person a users row holds (without the password hash)."""
    return Person(row.id, row.college_id, row.email, row.full_name, Role(row.role), row.created_at)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PeopleError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password or not password.strip():
        raise PeopleError("a password does not start or end with spaces")


def add_person(session: Session, college_id: str, email: str, full_name: str, role: Role, password: str) -> Person:
    """Create a person of the college (in the caller's transaction); EmailTaken, PeopleError."""
    if session.get(CollegeRow, college_id) is None:
        raise LookupError(f"no college {college_id}")
    address = email.strip().lower()
    if "@" not in address or not full_name.strip():
        raise PeopleError("a person needs an e-mail address and a full name")
    check_password(password)
    if session.scalar(select(UserRow.id).where(UserRow.email == address)) is not None:
        raise EmailTaken(f"{address} already signs in to this platform")
    row = UserRow(
        id=str(uuid.uuid4()),
        college_id=college_id,
        email=address,
        full_name=full_name.strip(),
        role=role.value,
        password_hash=hasher.hash(password),
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return person_from_row(row)


def people_of(session: Session, college_id: str) -> list[Person]:
    rows = session.scalars(select(UserRow).where(UserRow.college_id == college_id).order_by(UserRow.email))
    return [person_from_row(row) for row in rows]


def person_of(session: Session, college_id: str, user_id: str) -> Person | None:
    """The college's person with this id (None for another college's: they are not this college's to see)."""
    row = session.get(UserRow, user_id)
    return person_from_row(row) if row is not None and row.college_id == college_id else None


def sign_in(session: Session, email: str, password: str) -> Person | None:
    """The person these credentials belong to, or None (the same answer for an unknown address and a wrong
    password); a hash made with weaker parameters than today's is replaced."""
    row = session.scalars(select(UserRow).where(UserRow.email == email.strip().lower())).first()
    if row is None:
        hasher.hash(password)  # the same work as for a known address: timing says nothing
        return None
    try:
        hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if hasher.check_needs_rehash(row.password_hash):
        row.password_hash = hasher.hash(password)
    return person_from_row(row)
