"""A college's people who sign in: admins (the whole college) and examiners (the exams they are assigned to).

Passwords are hashed with Argon2id (argon2-cffi's defaults, rehashed when those defaults grow); the
plain password is never stored or logged. An e-mail address names one person of a college (always in
lower case); the same address may be someone of another college too (an examiner who works for two),
so nothing a college does tells it which addresses other colleges have. An admin disables a person
(who can then not sign in, and whose sign-ins end at once) or sets a new password.

The demo admin of `make run` has the bootstrap key as its password: it is enabled only while the server
runs with that key (`sync_demo_people`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, DateTime, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from footprint.accounts import CollegeRow
from footprint.store import Base
from footprint.store.times import as_utc

MIN_PASSWORD_LENGTH = 10
hasher = PasswordHasher()


class Role(StrEnum):
    ADMIN = "admin"
    """Manages the college's people and sees every exam of the college."""
    EXAMINER = "examiner"
    """Reviews the sessions of the exams they are assigned to."""


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("college_id", "email"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    college_id: Mapped[str] = mapped_column(ForeignKey("colleges.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    full_name: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    """The demo admin, whose password is the bootstrap key (enabled only while the server runs with it)."""


@dataclass(frozen=True)
class Person:
    """Someone of a college who signs in (never with their password hash)."""

    id: str
    college_id: str
    email: str
    full_name: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None = None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


class PeopleError(ValueError):
    """A person that cannot be created as asked (the message says why)."""


class EmailTaken(PeopleError):
    """The e-mail address already names someone (on this platform)."""


def person_from_row(row: UserRow) -> Person:
    """The person a users row holds (without the password hash)."""
    return Person(
        row.id, row.college_id, row.email, row.full_name, Role(row.role), row.created_at, as_utc(row.disabled_at)
    )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PeopleError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password or not password.strip():
        raise PeopleError("a password does not start or end with spaces")


def add_person(
    session: Session,
    college_id: str,
    email: str,
    full_name: str,
    role: Role,
    password: str,
    *,
    demo: bool = False,
) -> Person:
    """Create a person of the college (in the caller's transaction); EmailTaken when the college has them already,
    PeopleError when the input is not usable."""
    if session.get(CollegeRow, college_id) is None:
        raise LookupError(f"no college {college_id}")
    address = email.strip().lower()
    if "@" not in address or not full_name.strip():
        raise PeopleError("a person needs an e-mail address and a full name")
    check_password(password)
    taken = select(UserRow.id).where(UserRow.college_id == college_id, UserRow.email == address)
    if session.scalar(taken) is not None:
        raise EmailTaken(f"{address} is already one of this college's people")
    row = UserRow(
        id=str(uuid.uuid4()),
        college_id=college_id,
        email=address,
        full_name=full_name.strip(),
        role=role.value,
        password_hash=hasher.hash(password),
        created_at=datetime.now(UTC),
        demo=demo,
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


def _row_of(session: Session, college_id: str, user_id: str) -> UserRow:
    row = session.get(UserRow, user_id)
    if row is None or row.college_id != college_id:
        raise LookupError(f"no person {user_id} in this college")
    return row


def set_disabled(session: Session, college_id: str, user_id: str, disabled: bool) -> Person:
    """Disable a person (they cannot sign in; the caller ends their sign-ins) or enable them again."""
    row = _row_of(session, college_id, user_id)
    if disabled and row.disabled_at is None:
        row.disabled_at = datetime.now(UTC)
    elif not disabled:
        row.disabled_at = None
    return person_from_row(row)


def set_password(session: Session, college_id: str, user_id: str, password: str) -> Person:
    """A new password for a person (PeopleError when too weak); they are no longer the demo admin."""
    check_password(password)
    row = _row_of(session, college_id, user_id)
    row.password_hash = hasher.hash(password)
    row.demo = False
    return person_from_row(row)


def sign_in(session: Session, email: str, password: str, college_id: str | None = None) -> list[Person]:
    """The enabled people these credentials belong to (one per college the address and password open; usually
    one; none for an unknown address, a wrong password or a disabled person, answered in the same time). A hash
    made with weaker parameters than today's is replaced."""
    query = select(UserRow).where(UserRow.email == email.strip().lower())
    if college_id is not None:
        query = query.where(UserRow.college_id == college_id)
    rows = session.scalars(query.order_by(UserRow.created_at)).all()
    if not rows:
        hasher.hash(password)  # the same work as for a known address: timing says nothing
        return []
    found = []
    for row in rows:
        try:
            hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            continue
        if hasher.check_needs_rehash(row.password_hash):
            row.password_hash = hasher.hash(password)
        if row.disabled_at is None:
            found.append(person_from_row(row))
    return found


def sync_demo_people(session: Session, bootstrap_key: str | None) -> list[Person]:
    """Enable the demo people while the server runs with the bootstrap key that is their password; disable them
    otherwise (their password is a key that no longer stands). Returns the people disabled now."""
    disabled = []
    for row in session.scalars(select(UserRow).where(UserRow.demo.is_(True))).all():
        valid = False
        if bootstrap_key:
            try:
                valid = hasher.verify(row.password_hash, bootstrap_key)
            except (VerificationError, InvalidHashError):
                valid = False
        if valid:
            row.disabled_at = None
        elif row.disabled_at is None:
            row.disabled_at = datetime.now(UTC)
            disabled.append(person_from_row(row))
    return disabled
