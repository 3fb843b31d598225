"""Colleges and their credentials (API keys issued per college or per LMS).

Keys are 32 random bytes (URL-safe base64), so one SHA-256 is enough to store them safely: no
dictionary attack applies to high-entropy secrets. Each credential carries the authority agent
that the xAPI store writes into the statements it accepts.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from footprint.store import Base

AUTHORITY_HOME = "https://proctor.kz/credentials"
PROCTORING_ACCOUNT = "proctoring"
"""The account name of the authority the proctoring system itself writes its statements under; no key has it
(a key's authority is `AUTHORITY_HOME/<college>` with the credential's id as its name)."""


def proctoring_authority(base_url: str) -> dict[str, Any]:
    """The xAPI authority of statements the proctoring system itself writes into the footprint."""
    return {
        "objectType": "Agent",
        "name": "proctor.kz proctoring",
        "account": {"homePage": base_url, "name": PROCTORING_ACCOUNT},
    }


def is_proctoring_authority(authority: Any) -> bool:
    """Whether a stored statement's authority is the platform's proctoring (the store writes every statement's
    authority itself: a college's key always gets its own, so a key cannot pass for the proctoring system)."""
    account = authority.get("account") if isinstance(authority, Mapping) else None
    return (
        isinstance(account, Mapping)
        and account.get("name") == PROCTORING_ACCOUNT
        and not str(account.get("homePage", "")).startswith(f"{AUTHORITY_HOME}/")
    )


class CollegeRow(Base):
    """A college (or university) that holds credentials."""

    __tablename__ = "colleges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CredentialRow(Base):
    """An API key of a college: stored as its SHA-256, named (the Basic user name and authority name)."""

    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    college_id: Mapped[str] = mapped_column(String(36), ForeignKey("colleges.id"))
    name: Mapped[str] = mapped_column(String(255))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Credential:
    """An authenticated caller: its college and the authority agent of what it writes."""

    id: str
    college_id: str
    college_name: str
    name: str

    @property
    def authority(self) -> dict[str, Any]:
        """The xAPI authority agent of this credential (an account on the platform)."""
        return {
            "objectType": "Agent",
            "name": f"{self.college_name} / {self.name}",
            "account": {"homePage": f"{AUTHORITY_HOME}/{self.college_id}", "name": self.id},
        }


@dataclass(frozen=True)
class IssuedKey:
    """A newly issued key: the secret is shown once and never stored."""

    credential: Credential
    secret: str


def hash_key(secret: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """A fresh high-entropy API key."""
    return secrets.token_urlsafe(32)


def create_college(session: Session, name: str) -> str:
    """Create a college and return its id (in the caller's transaction)."""
    college_id = str(uuid.uuid4())
    session.add(CollegeRow(id=college_id, name=name, created_at=datetime.now(UTC)))
    session.flush()
    return college_id


def issue_key(session: Session, college_id: str, name: str, secret: str | None = None) -> IssuedKey:
    """Issue a key for a college (an LMS, a service); a given secret is used as is (bootstrap)."""
    college = session.get(CollegeRow, college_id)
    if college is None:
        raise LookupError(f"no college {college_id}")
    key = secret or new_secret()
    row = CredentialRow(
        id=str(uuid.uuid4()), college_id=college_id, name=name, key_hash=hash_key(key), created_at=datetime.now(UTC)
    )
    session.add(row)
    session.flush()
    return IssuedKey(Credential(row.id, college_id, college.name, name), key)


def authenticate(session: Session, secret: str) -> Credential | None:
    """The credential holding this key, or None."""
    row = session.execute(
        select(CredentialRow, CollegeRow.name)
        .join(CollegeRow, CollegeRow.id == CredentialRow.college_id)
        .where(CredentialRow.key_hash == hash_key(secret))
    ).first()
    if row is None:
        return None
    credential, college_name = row
    return Credential(credential.id, credential.college_id, college_name, credential.name)


def bootstrap(session: Session, secret: str, college_name: str = "Demo College") -> Credential:
    """Make sure the demo college holds the bootstrap key (idempotent across restarts)."""
    found = authenticate(session, secret)
    if found is not None:
        return found
    existing = session.execute(select(CollegeRow.id).where(CollegeRow.name == college_name)).scalar()
    college_id = existing or create_college(session, college_name)
    return issue_key(session, college_id, "bootstrap", secret).credential


def issue_key_for(session: Session, college_name: str, name: str) -> IssuedKey:
    """Issue a key named `name` (an LMS, a service) for the college of that name, creating the college if new."""
    existing = session.execute(select(CollegeRow.id).where(CollegeRow.name == college_name)).scalar()
    return issue_key(session, existing or create_college(session, college_name), name)


def college_of_statement(statement: Mapping[str, Any]) -> str | None:
    """The college a stored statement belongs to, as its own content says: the college whose key's authority the
    store wrote, or — for the platform's proctoring — the college its candidate account names (`…/colleges/ID`)."""
    authority = statement.get("authority")
    account = authority.get("account") if isinstance(authority, Mapping) else None
    home = str(account.get("homePage", "")) if isinstance(account, Mapping) else ""
    if home.startswith(f"{AUTHORITY_HOME}/"):
        return home.removeprefix(f"{AUTHORITY_HOME}/")
    actor = statement.get("actor")
    candidate = actor.get("account") if isinstance(actor, Mapping) else None
    where = str(candidate.get("homePage", "")) if isinstance(candidate, Mapping) else ""
    if is_proctoring_authority(authority) and "/colleges/" in where:
        return where.rsplit("/colleges/", 1)[1]
    return None
