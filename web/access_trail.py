"""Who saw what (ISO/IEC 27001:2022 A.8.15): every view or download of a person's media or report — a recording,
an evidence picture, a reference photo, a face crop, a protocol PDF, a learner's footprint report — by a person
signed in to the desk or by an API key is a `media_access` record in the ledger: who, what, which object, when and
from where. The ledger is append-only and audited (`footprint audit`), so a record cannot be edited unnoticed.

A record is small and holds no media and no secret. It is written in its own short write transaction by a plain
(sync) function: the routes that call it run in FastAPI's threadpool, never on the event loop.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, get_args

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from footprint.accounts import Credential
from footprint.ledger.tables import EntryRow
from footprint.people import Person
from footprint.store.times import as_utc
from proctor.review.access import Reviewer
from web.deps import Services

KIND = "media_access"
"""The ledger kind of an access record."""

What = Literal["recording", "evidence", "reference_photo", "face", "protocol", "footprint_report", "id_card"]
WHATS: tuple[str, ...] = get_args(What)
ActorKind = Literal["person", "key"]
ACTOR_KINDS: tuple[str, ...] = get_args(ActorKind)
CSV_COLUMNS = ("at", "actor_kind", "actor_id", "actor_name", "what", "object", "from", "ledger_index")


@dataclass(frozen=True)
class Actor:
    """Who looked: a person signed in to the desk (their user id and e-mail) or an API key (its id and name)."""

    kind: ActorKind
    id: str
    name: str

    @classmethod
    def person(cls, reviewer: Reviewer) -> Actor:
        return cls("person", reviewer.user_id, reviewer.email)

    @classmethod
    def desk(cls, person: Person) -> Actor:
        return cls("person", person.id, person.email)

    @classmethod
    def key(cls, credential: Credential) -> Actor:
        return cls("key", credential.id, credential.name)


def client_address(request: Request) -> str:
    """The client's address as uvicorn gives it (behind a trusted proxy: its X-Forwarded-For), or '' if none."""
    return request.client.host if request.client else ""


def starts_a_viewing(range_header: str | None) -> bool:
    """Whether a recording request starts a viewing. A video player sends many Range requests while it seeks; only
    a request without Range, or one whose (first) range starts at byte 0, is recorded, so one viewing is one record."""
    if range_header is None:
        return True
    unit, _, ranges = range_header.partition("=")
    start = ranges.split(",")[0].partition("-")[0].strip()
    return unit.strip().lower() == "bytes" and start.isdigit() and int(start) == 0


def record_access(
    services: Services, college_id: str, actor: Actor, what: What, obj: str | int, request: Request
) -> None:
    """Append one access record to the ledger, in its own write transaction (blocking: call it from a sync route)."""
    payload = {
        "college": college_id,
        "actor": {"kind": actor.kind, "id": actor.id, "name": actor.name},
        "what": what,
        "object": str(obj),
        "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "from": client_address(request),
    }
    with services.writing() as db:
        services.ledger.append(db, KIND, str(uuid.uuid4()), payload)


@dataclass(frozen=True)
class AccessRecord:
    """One access record as read back from the ledger."""

    index: int
    at: datetime
    actor: Actor
    what: str
    object: str
    address: str

    def row(self) -> dict[str, Any]:
        """The record as a flat row (the CSV's and the API's columns)."""
        return {
            "at": self.at.isoformat(),
            "actor_kind": self.actor.kind,
            "actor_id": self.actor.id,
            "actor_name": self.actor.name,
            "what": self.what,
            "object": self.object,
            "from": self.address,
            "ledger_index": self.index,
        }


@dataclass(frozen=True)
class AccessFilter:
    """Which records to list: an actor (id, or part of an e-mail or key name), what, one object, a period of days
    (UTC, both ends included)."""

    actor: str | None = None
    what: str | None = None
    object: str | None = None
    since: date | None = None
    until: date | None = None

    def keeps(self, record: AccessRecord) -> bool:
        if self.actor and self.actor != record.actor.id and self.actor.lower() not in record.actor.name.lower():
            return False
        if self.what and self.what != record.what:
            return False
        if self.object and self.object != record.object:
            return False
        day = record.at.astimezone(UTC).date()
        return (self.since is None or day >= self.since) and (self.until is None or day <= self.until)


def _record(index: int, data: dict[str, Any]) -> AccessRecord:
    actor = data["actor"]
    at = datetime.fromisoformat(data["at"])
    return AccessRecord(
        index,
        as_utc(at),
        Actor(actor["kind"], actor["id"], actor["name"]),
        data["what"],
        data["object"],
        data["from"],
    )


def access_records(db: Session, college_id: str, wanted: AccessFilter) -> Sequence[AccessRecord]:
    """The college's access records that `wanted` keeps, newest first.

    It reads every `media_access` entry (by the ledger's (kind, record_id) index) and filters in Python: fine for
    thousands of records. When the trail grows, the next step is an index table (college, at, actor, what,
    object → ledger index) written with each record.
    """
    rows = db.execute(
        select(EntryRow.index, EntryRow.payload).where(EntryRow.kind == KIND).order_by(EntryRow.index.desc())
    )
    found: list[AccessRecord] = []
    for index, payload in rows:
        data = json.loads(payload)
        if data.get("college") != college_id:
            continue
        record = _record(index, data)
        if wanted.keeps(record):
            found.append(record)
    return found
