"""Signed-in people: desk sign-in sessions (a random cookie token, stored as its SHA-256, with the CSRF token of
the forms it may post) and the login attempts that the rate limit counts.

Both live in the database, not in a process: any platform node sees a sign-in, a sign-out revokes it everywhere,
and the rate limit holds across nodes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from footprint.people import Person, UserRow, person_from_row
from footprint.store import Base

SESSION_HOURS = 12
"""How long a sign-in lasts (a working day of review); signing out ends it at once."""
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
"""Failed logins for one address within the window before that address is refused (429) until it passes."""
MAX_FAILURES_PER_ADDRESS = 20
"""Failed logins from one network address within the window before it is refused."""


class DeskSessionRow(Base):
    """One sign-in: the cookie token's SHA-256, whose it is, and the CSRF token of its forms."""

    __tablename__ = "desk_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginAttemptRow(Base):
    """A login attempt (its address and network address, and whether it succeeded), for the rate limit."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


@dataclass(frozen=True)
class SignIn:
    """A new sign-in: the cookie token is here once (only its hash is kept)."""

    token: str
    person: Person
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class SignedIn:
    """Who a request's cookie signs in, and the CSRF token their forms carry."""

    person: Person
    csrf_token: str


class TooManyAttempts(Exception):
    """Too many failed logins for the address (or from the network address): refused until `retry_after_s`."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed sign-ins: try again in {retry_after_s // 60 + 1} minutes")
        self.retry_after_s = retry_after_s


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def open_sign_in(db: Session, person: Person, now: datetime | None = None) -> SignIn:
    """Start a sign-in for `person` (in the caller's transaction)."""
    moment = now or datetime.now(UTC)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = moment + timedelta(hours=SESSION_HOURS)
    db.add(
        DeskSessionRow(id=token_hash(token), user_id=person.id, csrf_token=csrf, created_at=moment, expires_at=expires)
    )
    db.flush()
    return SignIn(token, person, csrf, expires)


def signed_in(db: Session, token: str, now: datetime | None = None) -> SignedIn | None:
    """Who this cookie token signs in (None: unknown, signed out or expired)."""
    if not token or len(token) > 200:
        return None
    row = db.get(DeskSessionRow, token_hash(token))
    if row is None or _utc(row.expires_at) <= (now or datetime.now(UTC)):
        return None
    user = db.get(UserRow, row.user_id)
    return SignedIn(person_from_row(user), row.csrf_token) if user is not None else None


def sign_out(db: Session, token: str) -> None:
    """End the sign-in of this cookie token (on every node: it is a row)."""
    db.execute(delete(DeskSessionRow).where(DeskSessionRow.id == token_hash(token)))


def csrf_matches(expected: str, given: str | None) -> bool:
    """Whether a form's (or a script's header's) CSRF token is the sign-in's own, compared in constant time."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def check_login_rate(db: Session, email: str, client: str, now: datetime | None = None) -> None:
    """Refuse (TooManyAttempts) a login for an address with MAX_FAILURES_PER_EMAIL failures since its last success
    within the window, or from a network address with MAX_FAILURES_PER_ADDRESS failures within it."""
    moment = now or datetime.now(UTC)
    since = moment - LOGIN_WINDOW
    address = email.strip().lower()
    last_ok = db.scalar(
        select(func.max(LoginAttemptRow.at)).where(LoginAttemptRow.email == address, LoginAttemptRow.ok.is_(True))
    )
    start = max(since, _utc(last_ok)) if last_ok is not None else since
    for column, value, limit in (
        (LoginAttemptRow.email, address, MAX_FAILURES_PER_EMAIL),
        (LoginAttemptRow.client, client, MAX_FAILURES_PER_ADDRESS),
    ):
        window_start = start if column is LoginAttemptRow.email else since
        failures = db.scalars(
            select(LoginAttemptRow.at)
            .where(column == value, LoginAttemptRow.ok.is_(False), LoginAttemptRow.at > window_start)
            .order_by(LoginAttemptRow.at.desc())
            .limit(limit)
        ).all()
        if len(failures) >= limit:
            oldest = _utc(failures[-1])
            raise TooManyAttempts(max(1, int((oldest + LOGIN_WINDOW - moment).total_seconds()) + 1))


def record_login(db: Session, email: str, client: str, ok: bool, now: datetime | None = None) -> None:
    """Remember a login attempt (and forget those too old to count)."""
    moment = now or datetime.now(UTC)
    db.add(LoginAttemptRow(email=email.strip().lower()[:254], client=client[:64], ok=ok, at=moment))
    db.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < moment - 4 * LOGIN_WINDOW))
