"""College API: the access trail (a key with the `admin` scope): who saw which recording, evidence picture, photo,
protocol or learner report, when and from where — each a record of the signed ledger (web/access_trail.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from proctor.sessions.listing import MAX_PAGE
from web.access_trail import AccessFilter, AccessRecord, What, access_records
from web.auth import AdminKey
from web.deps import ServicesDep
from web.routes.college.models import Page
from web.urls import public_url

router = APIRouter(tags=["access"])


class AccessPublic(BaseModel):
    """One view or download of a person's media or report."""

    at: datetime
    actor_kind: Literal["person", "key"] = Field(description="A person signed in to the desk, or an API key.")
    actor_id: str = Field(description="The person's user id or the key's id.")
    actor_name: str = Field(description="The person's e-mail address or the key's name.")
    what: str
    object: str = Field(description="The session, `session/seq` of an event, face id or learner id.")
    from_: str = Field(alias="from", description="The client's address.")
    ledger_index: int = Field(description="The record's position in the ledger (its proof: /ledger/proof/...).")


def _public(record: AccessRecord) -> AccessPublic:
    return AccessPublic.model_validate(record.row())


@router.get("/access", response_model=Page[AccessPublic], response_model_by_alias=True)
def list_access(
    request: Request,
    credential: AdminKey,
    services: ServicesDep,
    actor: Annotated[str | None, Query(max_length=255, description="A user or key id, or part of a name.")] = None,
    what: What | None = None,
    object: Annotated[str | None, Query(max_length=255, description="One session, event, face or learner.")] = None,
    since: Annotated[date | None, Query(alias="from", description="From this day (UTC), included.")] = None,
    until: Annotated[date | None, Query(alias="to", description="Up to this day (UTC), included.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, description="Items to skip.")] = 0,
) -> Page[AccessPublic]:
    """The college's access records, newest first: who viewed or downloaded a recording, evidence, a reference
    photo, a face, a protocol or a learner's footprint report."""
    wanted = AccessFilter(actor, what, object, since, until)
    with services.sessions() as db:
        records = access_records(db, credential.college_id, wanted)
    following = public_url(request, offset=offset + limit) if offset + limit < len(records) else None
    items = [_public(record) for record in records[offset : offset + limit]]
    return Page[AccessPublic](items=items, total=len(records), limit=limit, offset=offset, next=following)
