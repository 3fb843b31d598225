"""The LMSs a college registered as LTI 1.3 platforms: issuer and client id name one registration of one college.

An admin of the college registers, lists and disables its platforms (college API with the `admin` scope, or the
desk); a launch, a roster sync or a grade write only ever uses a registration that is enabled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from footprint.store.times import as_utc
from proctor.lti.tables import PlatformRow
from proctor.sessions.errors import InvalidInputError, NotFoundError, StateError

MAX_DEPLOYMENTS = 50


@dataclass(frozen=True)
class PlatformSpec:
    """What a college admin copies from the LMS's tool registration."""

    name: str
    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    jwks_url: str
    auth_url: str
    token_url: str


@dataclass(frozen=True)
class Platform:
    """A registered platform (nothing secret in it: the platform's keys come from its JWKS URL)."""

    id: str
    college_id: str
    name: str
    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    jwks_url: str
    auth_url: str
    token_url: str
    created_at: datetime
    disabled_at: datetime | None

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


def platform_of(row: PlatformRow) -> Platform:
    return Platform(
        row.id,
        row.college_id,
        row.name,
        row.issuer,
        row.client_id,
        tuple(row.deployment_ids),
        row.jwks_url,
        row.auth_url,
        row.token_url,
        as_utc(row.created_at),
        as_utc(row.disabled_at),
    )


def _url(value: str, field: str) -> str:
    text = value.strip()
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise InvalidInputError(f"{field} is not a URL ({exc})") from exc
    if url.scheme not in ("http", "https") or not url.host or url.userinfo or len(text) > 2000:
        raise InvalidInputError(f"{field} must be an http(s) URL of at most 2000 characters, without a password")
    return text


def _text(value: str, field: str, limit: int) -> str:
    text = value.strip()
    if not text or len(text) > limit or any(ord(ch) < 32 for ch in text):
        raise InvalidInputError(f"{field} must be 1–{limit} printable characters")
    return text


def checked(spec: PlatformSpec) -> PlatformSpec:
    """The spec with its fields trimmed; InvalidInputError naming the first field that is not usable."""
    deployments = tuple(dict.fromkeys(_text(item, "each deployment id", 255) for item in spec.deployment_ids))
    if not deployments or len(deployments) > MAX_DEPLOYMENTS:
        raise InvalidInputError(f"deployment_ids must list 1–{MAX_DEPLOYMENTS} deployment ids")
    return PlatformSpec(
        name=_text(spec.name, "name", 300),
        issuer=_url(spec.issuer, "issuer"),  # compared exactly with each id_token's `iss`
        client_id=_text(spec.client_id, "client_id", 255),
        deployment_ids=deployments,
        jwks_url=_url(spec.jwks_url, "jwks_url"),
        auth_url=_url(spec.auth_url, "auth_url"),
        token_url=_url(spec.token_url, "token_url"),
    )


def register(db: Session, college_id: str, spec: PlatformSpec) -> Platform:
    """Register a platform for the college (in the caller's transaction); StateError when its issuer and client id
    are registered already (on this server: a launch must name one college)."""
    good = checked(spec)
    row = PlatformRow(
        id=str(uuid.uuid4()),
        college_id=college_id,
        name=good.name,
        issuer=good.issuer,
        client_id=good.client_id,
        deployment_ids=list(good.deployment_ids),
        jwks_url=good.jwks_url,
        auth_url=good.auth_url,
        token_url=good.token_url,
        created_at=datetime.now(UTC),
    )
    taken = select(PlatformRow.id).where(PlatformRow.issuer == good.issuer, PlatformRow.client_id == good.client_id)
    if db.scalar(taken) is not None:
        raise StateError("a platform with this issuer and client_id is registered already on this server")
    db.add(row)
    try:
        db.flush()
    except IntegrityError as exc:  # registered at the same moment by another request
        raise StateError("a platform with this issuer and client_id is registered already on this server") from exc
    return platform_of(row)


def update_deployments(db: Session, college_id: str, platform_id: str, deployment_ids: tuple[str, ...]) -> Platform:
    row = _row(db, college_id, platform_id)
    spec = checked(
        PlatformSpec(row.name, row.issuer, row.client_id, deployment_ids, row.jwks_url, row.auth_url, row.token_url)
    )
    row.deployment_ids = list(spec.deployment_ids)
    return platform_of(row)


def _row(db: Session, college_id: str, platform_id: str) -> PlatformRow:
    row = db.get(PlatformRow, platform_id)
    if row is None or row.college_id != college_id:
        raise NotFoundError(f"no LTI platform {platform_id}")
    return row


def college_platform(db: Session, college_id: str, platform_id: str) -> Platform:
    """The college's platform (NotFoundError for an unknown one or another college's)."""
    return platform_of(_row(db, college_id, platform_id))


def college_platforms(db: Session, college_id: str) -> list[Platform]:
    rows = db.scalars(select(PlatformRow).where(PlatformRow.college_id == college_id).order_by(PlatformRow.created_at))
    return [platform_of(row) for row in rows]


def set_disabled(db: Session, college_id: str, platform_id: str, disabled: bool) -> Platform:
    """Disable a platform (its launches, roster syncs and grade writes stop) or enable it again."""
    row = _row(db, college_id, platform_id)
    row.disabled_at = (row.disabled_at or datetime.now(UTC)) if disabled else None
    return platform_of(row)


def by_issuer(db: Session, issuer: str, client_id: str | None) -> Platform:
    """The registration a login names; NotFoundError when none (or several, without a client id) matches."""
    query = select(PlatformRow).where(PlatformRow.issuer == issuer)
    if client_id:
        query = query.where(PlatformRow.client_id == client_id)
    rows = list(db.scalars(query.limit(2)))
    if len(rows) != 1:
        raise NotFoundError(
            "no LTI platform is registered with this issuer" + (" and client_id" if client_id else "")
            if not rows
            else "several registrations share this issuer: the LMS must send client_id"
        )
    return platform_of(rows[0])
