"""College API: the college's API keys (a key with the `admin` scope): list, issue, revoke, rotate.

A key grants only its scopes: give an LMS `xapi` (and `sessions` if it creates exams and sessions), never `admin`.
A new secret is in the answer once; only its SHA-256 is kept.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from footprint.accounts import IssuedKey, KeyInfo, Scope, UnknownKey, issue_key, keys_of, revoke_key, rotate_key
from web.auth import AdminKey
from web.deps import ServicesDep
from web.routes.college.models import plain_text

router = APIRouter(tags=["keys"])


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=255, description="What the key is for, e.g. `moodle`.")]
    scopes: Annotated[list[Scope], Field(min_length=1, description="What it may do (least privilege).")]


class KeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keep_old_for_s: Annotated[
        int, Field(ge=0, le=7 * 86400, description="The old secret keeps working this long (0: revoked at once).")
    ] = 0


class KeyPublic(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="The secret's first characters: how to tell keys apart (it proves nothing).")
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None = Field(description="Noted at most once a minute.")
    revoked_at: datetime | None
    expires_at: datetime | None = Field(description="An old key's end after a rotation with a grace period.")
    active: bool


class KeyIssued(KeyPublic):
    secret: str = Field(description="The key itself, shown this once.")


def _public(key: KeyInfo) -> KeyPublic:
    return KeyPublic(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes=sorted(key.scopes, key=list(Scope).index),
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        expires_at=key.expires_at,
        active=key.active(),
    )


def _issued(issued: IssuedKey, info: KeyInfo) -> KeyIssued:
    return KeyIssued(**_public(info).model_dump(), secret=issued.secret)


def _info(services: ServicesDep, college_id: str, key_id: str) -> KeyInfo:
    with services.sessions() as db:
        for key in keys_of(db, college_id):
            if key.id == key_id:
                return key
    raise HTTPException(404, f"no key {key_id}")


@router.get("/keys", response_model=list[KeyPublic])
def list_keys(credential: AdminKey, services: ServicesDep) -> list[KeyPublic]:
    """The college's keys, newest first (revoked ones too), with their scopes and last use; never a secret."""
    with services.sessions() as db:
        return [_public(key) for key in keys_of(db, credential.college_id)]


@router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=KeyIssued)
def create_key(body: KeyCreate, credential: AdminKey, services: ServicesDep) -> KeyIssued:
    """Issue a key with the scopes it needs; the answer holds the secret, once."""
    try:
        name = plain_text(body.name)
    except ValueError as exc:
        raise HTTPException(400, f"name {exc}") from exc
    with services.writing() as db:
        issued = issue_key(db, credential.college_id, name, scopes=body.scopes)
    return _issued(issued, _info(services, credential.college_id, issued.credential.id))


@router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_key(key_id: str, credential: AdminKey, services: ServicesDep) -> Response:
    """Revoke a key at once (it may be the key of this very request); revoking it again changes nothing."""
    _info(services, credential.college_id, key_id)  # 404 for another college's key, as for an unknown one
    with services.writing() as db:
        revoke_key(db, credential.college_id, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/keys/{key_id}/rotate", status_code=status.HTTP_201_CREATED, response_model=KeyIssued)
def rotate(key_id: str, body: KeyRotate, credential: AdminKey, services: ServicesDep) -> KeyIssued:
    """A new secret for the key (same name and scopes); the old one is revoked now or after `keep_old_for_s`.
    409 for a revoked or expired key."""
    _info(services, credential.college_id, key_id)
    try:
        with services.writing() as db:
            issued = rotate_key(db, credential.college_id, key_id, timedelta(seconds=body.keep_old_for_s))
    except UnknownKey as exc:
        raise HTTPException(409, str(exc)) from exc
    return _issued(issued, _info(services, credential.college_id, issued.credential.id))
