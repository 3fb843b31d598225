"""Colleges and their credentials (API keys issued per college or per LMS), with what each key may do.

Keys are 32 random bytes (URL-safe base64), so one SHA-256 is enough to store them safely: no
dictionary attack applies to high-entropy secrets. Each credential carries the authority agent
that the xAPI store writes into the statements it accepts, and its scopes: a key grants only the
parts of the API it names (an LMS gets `xapi`, not the college's people). Keys are listed by a
short prefix of the secret, revoked, and rotated (a new secret, the old one revoked at once or
after a grace period); the bootstrap (demo) key lives only while the server is started with it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, String, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from footprint.store import Base
from footprint.store.times import as_utc

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


class Scope(StrEnum):
    """What a key may do; a request outside its key's scopes is refused (403 naming the scope)."""

    XAPI = "xapi"
    """The learning record store (statements, documents): what an LMS needs."""
    SESSIONS = "sessions"
    """Exams, candidates, sessions, recordings, events, verdicts."""
    PEOPLE = "people"
    """The college's examiners and their exams (an admin person needs `admin` too)."""
    FOOTPRINT = "footprint"
    """The catalogue, indicators, compliance and their evidence."""
    ADMIN = "admin"
    """Keys, webhooks, admins and the college's settings."""


ALL_SCOPES = frozenset(Scope)
LAST_USED_EVERY = timedelta(seconds=60)
"""A key's `last_used_at` is written at most this often (not on every request)."""
KEY_MARK = "pkz_"
PREFIX_LENGTH = 12
"""The key's mark and its first 8 characters: enough to tell a college's keys apart."""
MAX_GRACE = timedelta(days=7)
"""The longest an old key may live on after a rotation."""


class UnknownKey(LookupError):
    """No such key of this college (or a key that can no longer be changed)."""


def parse_scopes(text: str | Iterable[str]) -> frozenset[Scope]:
    """Scopes from `xapi,sessions` or a list of names; ValueError naming the unknown ones and the known ones."""
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    known = {scope.value for scope in Scope}
    unknown = sorted(set(names) - known)
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; scopes are {', '.join(s.value for s in Scope)}")
    if not names:
        raise ValueError(f"a key needs at least one scope of {', '.join(s.value for s in Scope)}")
    return frozenset(Scope(n) for n in names)


def scope_text(scopes: Iterable[Scope]) -> str:
    """Scopes as stored and shown: in the order of `Scope`, comma-separated."""
    chosen = set(scopes)
    return ",".join(scope.value for scope in Scope if scope in chosen)


class CredentialRow(Base):
    """An API key of a college: stored as its SHA-256, named (the Basic user name and authority name)."""

    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    college_id: Mapped[str] = mapped_column(String(36), ForeignKey("colleges.id"))
    name: Mapped[str] = mapped_column(String(255))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    scopes: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    """The secret's first characters: how people tell their keys apart (it proves nothing)."""
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """An old key's end after a rotation with a grace period."""
    bootstrap: Mapped[bool] = mapped_column(Boolean, default=False)
    """The demo key of `PROCTOR_BOOTSTRAP_API_KEY`: valid only while the server is started with it."""


@dataclass(frozen=True)
class Credential:
    """An authenticated caller: its college, the authority agent of what it writes, and what it may do."""

    id: str
    college_id: str
    college_name: str
    name: str
    scopes: frozenset[Scope] = ALL_SCOPES
    last_used_at: datetime | None = field(default=None, compare=False)

    def allows(self, *scopes: Scope) -> bool:
        """Whether the key holds one of `scopes`."""
        return any(scope in self.scopes for scope in scopes)

    def use_to_note(self, now: datetime | None = None) -> bool:
        """Whether this use should be written down (the last one noted is a minute old or more)."""
        last = as_utc(self.last_used_at)
        return last is None or last < (now or datetime.now(UTC)) - LAST_USED_EVERY

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
    """A fresh high-entropy API key, marked as the platform's (`pkz_`: secret scanners and people recognise it)."""
    return KEY_MARK + secrets.token_urlsafe(32)


def create_college(session: Session, name: str) -> str:
    """Create a college and return its id (in the caller's transaction)."""
    college_id = str(uuid.uuid4())
    session.add(CollegeRow(id=college_id, name=name, created_at=datetime.now(UTC)))
    session.flush()
    return college_id


def _active(now: datetime) -> Any:
    return (CredentialRow.revoked_at.is_(None)) & (
        or_(CredentialRow.expires_at.is_(None), CredentialRow.expires_at > now)
    )


def issue_key(
    session: Session,
    college_id: str,
    name: str,
    secret: str | None = None,
    *,
    scopes: Iterable[Scope],
    bootstrap: bool = False,
) -> IssuedKey:
    """Issue a key for a college (an LMS, a service) with the scopes it needs; a given secret is used as is
    (bootstrap). ValueError when it would have no scope."""
    college = session.get(CollegeRow, college_id)
    if college is None:
        raise LookupError(f"no college {college_id}")
    granted = frozenset(scopes)
    if not granted:
        raise ValueError("a key needs at least one scope")
    key = secret or new_secret()
    row = CredentialRow(
        id=str(uuid.uuid4()),
        college_id=college_id,
        name=name,
        key_hash=hash_key(key),
        created_at=datetime.now(UTC),
        scopes=scope_text(granted),
        prefix=key[:PREFIX_LENGTH],
        bootstrap=bootstrap,
    )
    session.add(row)
    session.flush()
    return IssuedKey(Credential(row.id, college_id, college.name, name, granted), key)


def _credential(row: CredentialRow, college_name: str) -> Credential:
    scopes = parse_scopes(row.scopes)
    return Credential(row.id, row.college_id, college_name, row.name, scopes, as_utc(row.last_used_at))


def authenticate(session: Session, secret: str, now: datetime | None = None) -> Credential | None:
    """The credential holding this key, or None (unknown, revoked, or past its grace period)."""
    moment = now or datetime.now(UTC)
    row = session.execute(
        select(CredentialRow, CollegeRow.name)
        .join(CollegeRow, CollegeRow.id == CredentialRow.college_id)
        .where(CredentialRow.key_hash == hash_key(secret), _active(moment))
    ).first()
    if row is None:
        return None
    credential, college_name = row
    return _credential(credential, college_name)


def note_use(session: Session, credential_id: str, now: datetime | None = None) -> None:
    """Remember that a key was used (at most once a minute: one small conditional write)."""
    moment = now or datetime.now(UTC)
    session.execute(
        update(CredentialRow)
        .where(
            CredentialRow.id == credential_id,
            or_(CredentialRow.last_used_at.is_(None), CredentialRow.last_used_at < moment - LAST_USED_EVERY),
        )
        .values(last_used_at=moment)
    )


@dataclass(frozen=True)
class KeyInfo:
    """A key as its college sees it (never the secret)."""

    id: str
    name: str
    prefix: str
    scopes: frozenset[Scope]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None
    bootstrap: bool

    def active(self, now: datetime | None = None) -> bool:
        moment = now or datetime.now(UTC)
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > moment)


def _info(row: CredentialRow) -> KeyInfo:
    created = as_utc(row.created_at)
    return KeyInfo(
        row.id,
        row.name,
        row.prefix,
        parse_scopes(row.scopes),
        created,
        as_utc(row.last_used_at),
        as_utc(row.revoked_at),
        as_utc(row.expires_at),
        bool(row.bootstrap),
    )


def keys_of(session: Session, college_id: str) -> list[KeyInfo]:
    """The college's keys, newest first (revoked ones too: they are its record)."""
    rows = session.scalars(
        select(CredentialRow).where(CredentialRow.college_id == college_id).order_by(CredentialRow.created_at.desc())
    )
    return [_info(row) for row in rows]


def find_key(session: Session, college_id: str | None, key_id: str) -> CredentialRow:
    """The key with this id or prefix (of the college when one is given); UnknownKey when none or several match."""
    query = select(CredentialRow).where(or_(CredentialRow.id == key_id, CredentialRow.prefix == key_id))
    if college_id is not None:
        query = query.where(CredentialRow.college_id == college_id)
    rows = session.scalars(query).all()
    if len(rows) != 1:
        raise UnknownKey(f"no key {key_id}" if not rows else f"{key_id} names several keys: give the key's id")
    return rows[0]


def revoke_key(session: Session, college_id: str | None, key_id: str, now: datetime | None = None) -> KeyInfo:
    """Revoke a key at once (revoking it again changes nothing)."""
    row = find_key(session, college_id, key_id)
    if row.revoked_at is None:
        row.revoked_at = now or datetime.now(UTC)
    return _info(row)


def rotate_key(
    session: Session, college_id: str | None, key_id: str, grace: timedelta = timedelta(0), now: datetime | None = None
) -> IssuedKey:
    """A new secret for a key (same name and scopes); the old one is revoked now, or ends after `grace` (at most
    MAX_GRACE) so that its user can switch without a gap. A revoked key is not rotated (UnknownKey)."""
    moment = now or datetime.now(UTC)
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise ValueError(f"the old key may live on for 0 to {MAX_GRACE.days} days")
    row = find_key(session, college_id, key_id)
    if not _info(row).active(moment):
        raise UnknownKey(f"key {row.prefix}… is revoked or expired: issue a new one")
    issued = issue_key(session, row.college_id, row.name, scopes=parse_scopes(row.scopes))
    if grace:
        row.expires_at = moment + grace
    else:
        row.revoked_at = moment
    return issued


def bootstrap(session: Session, secret: str, college_name: str = "Demo College") -> Credential:
    """Make sure the demo college holds the bootstrap key with every scope (idempotent across restarts), and that
    no other bootstrap key still works (the setting names the one demo key)."""
    moment = datetime.now(UTC)
    session.execute(
        update(CredentialRow)
        .where(CredentialRow.bootstrap.is_(True), CredentialRow.key_hash != hash_key(secret))
        .where(CredentialRow.revoked_at.is_(None))
        .values(revoked_at=moment)
    )
    row = session.scalars(select(CredentialRow).where(CredentialRow.key_hash == hash_key(secret))).first()
    if row is not None:
        row.revoked_at, row.expires_at, row.bootstrap = None, None, True
        college = session.get(CollegeRow, row.college_id)
        return _credential(row, college.name if college is not None else college_name)
    existing = session.execute(select(CollegeRow.id).where(CollegeRow.name == college_name)).scalar()
    college_id = existing or create_college(session, college_name)
    return issue_key(session, college_id, "bootstrap", secret, scopes=ALL_SCOPES, bootstrap=True).credential


def retire_bootstrap(session: Session) -> int:
    """The server starts without a bootstrap key: every bootstrap key is revoked. Returns how many were active."""
    result = session.execute(
        update(CredentialRow)
        .where(CredentialRow.bootstrap.is_(True), CredentialRow.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def active_keys(session: Session) -> int:
    """How many keys work now, platform-wide (the start-up message tells it)."""
    return len(session.scalars(select(CredentialRow.id).where(_active(datetime.now(UTC)))).all())


def college_named(session: Session, college_name: str, *, create: bool = False) -> str:
    """The id of the college of that name; a new college only when `create` (a typo must not make one silently):
    ValueError naming the colleges there are otherwise."""
    existing = session.execute(select(CollegeRow.id).where(CollegeRow.name == college_name)).scalar()
    if existing is not None:
        return existing
    if create:
        return create_college(session, college_name)
    names = list(session.scalars(select(CollegeRow.name).order_by(CollegeRow.name).limit(11)))
    known = ", ".join(repr(name) for name in names[:10]) + (", …" if len(names) > 10 else "") or "none yet"
    raise ValueError(f"no college named {college_name!r} (colleges: {known}); add --new-college to create it")


def issue_key_for(
    session: Session, college_name: str, name: str, scopes: Iterable[Scope], *, new_college: bool = False
) -> IssuedKey:
    """Issue a key named `name` (an LMS, a service) for the college of that name (created only with `new_college`)."""
    return issue_key(session, college_named(session, college_name, create=new_college), name, scopes=scopes)


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
