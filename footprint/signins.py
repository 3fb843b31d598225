"""Signed-in people: desk sign-in sessions (a random cookie token, stored as its SHA-256, with the CSRF token of
the forms it may post) and the login throttle.

Both live in the database, not in a process: any platform node sees a sign-in, a sign-out revokes it everywhere,
and the throttle holds across nodes.

The throttle slows guessing without letting anyone lock a person out. Each attempt is charged, before its password
is checked, to buckets: the account from this network address, and the network address (or, from a browser where
the account signed in before — its device cookie — that account on that device only). A bucket that has had a few
failures makes its next attempt wait, twice as long after each further failure (up to MAX_DELAY); a success clears
the account's bucket. So an attacker elsewhere slows only their own guesses, and the examiner at their own computer
signs in as ever. Charging before checking, under a row lock, keeps the count exact when attempts run in parallel.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, ForeignKey, Integer, String, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from footprint.people import Person, UserRow, person_from_row
from footprint.store import Base
from footprint.store.times import as_utc

SESSION_HOURS = 12
"""How long a sign-in lasts (a working day of review); signing out ends it at once."""
FORGET_AFTER = timedelta(minutes=15)
"""A bucket whose last failure is older than this starts afresh."""
FREE_FAILURES_PER_ACCOUNT = 3
"""Failures of an account from one network address (or one device) before its attempts have to wait."""
FREE_FAILURES_PER_ADDRESS = 20
"""Failures from one network address, over all accounts, before its attempts have to wait."""
MAX_DELAY = timedelta(minutes=15)
DEVICE_DAYS = 365


class DeskSessionRow(Base):
    """One sign-in: the cookie token's SHA-256, whose it is, and the CSRF token of its forms."""

    __tablename__ = "desk_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginThrottleRow(Base):
    """A throttle bucket: failures counted, and until when its next attempt waits (the key is a hash: no address
    or e-mail is kept here)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    wait_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


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
    """This attempt comes too soon after failed ones: wait `retry_after_s` seconds."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed sign-ins: try again in {retry_after_s} seconds")
        self.retry_after_s = retry_after_s


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
    """Who this cookie token signs in (None: unknown, signed out, expired, or the person is disabled)."""
    if not token or len(token) > 200:
        return None
    row = db.get(DeskSessionRow, token_hash(token))
    if row is None or as_utc(row.expires_at) <= (now or datetime.now(UTC)):
        return None
    user = db.get(UserRow, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    return SignedIn(person_from_row(user), row.csrf_token)


def sign_out(db: Session, token: str) -> None:
    """End the sign-in of this cookie token (on every node: it is a row)."""
    db.execute(delete(DeskSessionRow).where(DeskSessionRow.id == token_hash(token)))


def end_sign_ins(db: Session, user_id: str) -> int:
    """End every sign-in of a person (disabled, or given a new password) at once; returns how many."""
    result = db.execute(delete(DeskSessionRow).where(DeskSessionRow.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def end_all_sign_ins(db: Session, college_id: str | None = None) -> int:
    """End every desk sign-in (of one college's people only, given `college_id`): everyone signs in again. A sign-in
    is a random token kept as a row, not signed by a server secret, so this is what rotating the desk's session
    secrets is. Returns how many ended."""
    ended = delete(DeskSessionRow)
    if college_id is not None:
        ended = ended.where(DeskSessionRow.user_id.in_(select(UserRow.id).where(UserRow.college_id == college_id)))
    result = db.execute(ended)
    return int(getattr(result, "rowcount", 0) or 0)


def csrf_matches(expected: str, given: str | None) -> bool:
    """Whether a form's (or a script's header's) CSRF token is the sign-in's own, compared in constant time."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


# -- the login throttle -----------------------------------------------------------------------------------------


def device_cookie(secret: bytes, email: str) -> str:
    """The device cookie a browser gets when `email` signs in there: a random id and its MAC (no expiry inside;
    the cookie's own max-age ends it)."""
    device = secrets.token_urlsafe(12)
    return f"{device}.{_device_mac(secret, device, email)}"


def device_of(secret: bytes, email: str, cookie: str | None) -> str | None:
    """The device id of a cookie issued to `email` on this platform, or None (absent, forged, another account's)."""
    if not cookie or len(cookie) > 200 or "." not in cookie:
        return None
    device, mac = cookie.rsplit(".", 1)
    return device if hmac.compare_digest(mac, _device_mac(secret, device, email)) else None


def _device_mac(secret: bytes, device: str, email: str) -> str:
    message = f"{device}|{email.strip().lower()}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Attempt:
    """A login attempt charged to its buckets (by their keys, and how many failures each may have for free)."""

    buckets: tuple[tuple[str, int], ...]

    @property
    def account_keys(self) -> tuple[str, ...]:
        return tuple(key for key, free in self.buckets if free == FREE_FAILURES_PER_ACCOUNT)


def _bucket(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def wait_after(failures: int, free: int) -> timedelta | None:
    """How long the next attempt waits after `failures` failures of a bucket that has `free` of them."""
    if failures < free:
        return None
    return min(MAX_DELAY, timedelta(seconds=2 ** (failures - free)))


def begin_attempt(
    db: Session, email: str, client: str, device: str | None = None, now: datetime | None = None
) -> Attempt:
    """Charge a login attempt to its buckets as a failure before the password is checked (`end_attempt` takes it
    back on success); TooManyAttempts while a bucket makes attempts wait. Runs in the caller's transaction, which
    holds the buckets' rows locked until it commits."""
    moment = now or datetime.now(UTC)
    address = email.strip().lower()
    buckets: tuple[tuple[str, int], ...]
    if device is not None:
        buckets = ((_bucket("device", device, address), FREE_FAILURES_PER_ACCOUNT),)
    else:
        buckets = (
            (_bucket("account", address, client), FREE_FAILURES_PER_ACCOUNT),
            (_bucket("address", client), FREE_FAILURES_PER_ADDRESS),
        )
    keys = sorted(key for key, _ in buckets)  # one lock order for every attempt
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    for key in keys:
        db.execute(insert(LoginThrottleRow).values(key=key, failures=0).on_conflict_do_nothing())
    rows = {
        row.key: row
        for row in db.scalars(select(LoginThrottleRow).where(LoginThrottleRow.key.in_(keys)).with_for_update())
    }
    waits = [
        wait
        for row in rows.values()
        if not _forgotten(row, moment) and (wait := as_utc(row.wait_until)) is not None and wait > moment
    ]
    if waits:
        raise TooManyAttempts(max(1, int((max(waits) - moment).total_seconds() + 0.999)))
    for key, free in buckets:
        row = rows[key]
        row.failures = 1 if _forgotten(row, moment) else row.failures + 1
        row.last_failure_at = moment
        delay = wait_after(row.failures, free)
        row.wait_until = moment + delay if delay is not None else None
    db.execute(delete(LoginThrottleRow).where(LoginThrottleRow.last_failure_at < moment - 4 * FORGET_AFTER))
    return Attempt(tuple(buckets))


def end_attempt(db: Session, attempt: Attempt, ok: bool, now: datetime | None = None) -> None:
    """The password was checked: a success clears the account's bucket and takes the charge off the others."""
    if not ok:
        return
    moment = now or datetime.now(UTC)
    rows = db.scalars(
        select(LoginThrottleRow).where(LoginThrottleRow.key.in_([key for key, _ in attempt.buckets])).with_for_update()
    ).all()
    free = dict(attempt.buckets)
    for row in rows:
        row.failures = 0 if row.key in attempt.account_keys else max(0, row.failures - 1)
        delay = wait_after(row.failures, free[row.key])
        row.wait_until = moment + delay if delay is not None and row.failures else None


def _forgotten(row: LoginThrottleRow, now: datetime) -> bool:
    last = as_utc(row.last_failure_at)
    return last is None or last < now - FORGET_AFTER
