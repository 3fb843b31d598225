"""College API: personal-data requests and retention (a key with the `admin` scope; Law 94-V "On personal data").

- `GET /people/{external_id}/data`: what is kept about a person, why, until when, and who saw it.
- `POST /people/{external_id}/erasure`: delete their media and biometric data (proctor/sessions/erasure.py).
- `PUT|DELETE /sessions/{session_id}/hold`: hold a session's data while its verdict is under appeal.
- `GET|PUT /retention`: the college's retention periods per kind of data.

Another college's person or session is not found; every change is a ledger record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from proctor.sessions.erasure import erase_person
from proctor.sessions.holds import MAX_REASON, lift_hold, place_hold
from proctor.sessions.person_data import export_person
from proctor.sessions.retention import policy_of, set_policy
from proctor.sessions.tables import SessionFaceRow
from web.access_trail import AccessFilter, access_records
from web.auth import AdminKey
from web.deps import ServicesDep
from web.platform import PlatformDep

router = APIRouter(tags=["personal data"])

ExternalId = Annotated[str, Path(min_length=1, max_length=128, description="The college's id of the person.")]
Days = Annotated[int | None, Field(ge=1, le=36500)]


class HoldCreate(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_REASON, description="Why: an appeal of the verdict, say.")


class HoldPublic(BaseModel):
    session_id: str
    held_since: datetime | None
    reason: str | None


class RetentionPublic(BaseModel):
    """Days each kind of personal data is kept after its session (reference photos: after enrolment)."""

    recordings_days: int
    evidence_days: int
    faces_days: int
    reference_photos_days: int
    page_events_days: int


class RetentionUpdate(BaseModel):
    """The periods to change (days, 1–36500); null sets one back to the platform's default."""

    model_config = {"extra": "forbid"}
    recordings_days: Days = None
    evidence_days: Days = None
    faces_days: Days = None
    reference_photos_days: Days = None
    page_events_days: Days = None


def _objects(services: ServicesDep, sessions: set[str]) -> set[str]:
    """The ids the access trail names for this person's data: their sessions (and `session/seq` events) and faces."""
    with services.sessions() as db:
        faces = {str(i) for i in db.scalars(select(SessionFaceRow.id).where(SessionFaceRow.session_id.in_(sessions)))}
    return sessions | faces


@router.get("/people/{external_id}/data")
def person_data(external_id: ExternalId, credential: AdminKey, platform: PlatformDep, services: ServicesDep) -> Any:
    """Everything kept about the person in the college's exams, the purpose of each kind and until when it is
    kept, and every view of their media (the access trail). The media itself is not in the answer."""
    exported = export_person(platform.service.store, credential.college_id, external_id)
    sessions = {session["session_id"] for kept in exported["enrolments"] for session in kept["sessions"]}
    objects = _objects(services, sessions)
    with services.sessions() as db:
        records = access_records(db, credential.college_id, AccessFilter())
    exported["seen_by"] = [
        record.row() for record in records if record.object in objects or record.object.split("/")[0] in objects
    ]
    return exported


@router.post("/people/{external_id}/erasure")
def erase(external_id: ExternalId, credential: AdminKey, platform: PlatformDep) -> dict[str, object]:
    """Delete the person's media and biometric data in every exam of the college; 409 while a session of theirs
    is in progress or held. Their name, events and verdicts stay (the college's attestation record)."""
    report = erase_person(platform.service.store, credential.college_id, external_id, f"key:{credential.id}")
    return report.as_json()


@router.put("/sessions/{session_id}/hold", response_model=HoldPublic)
def hold(session_id: str, body: HoldCreate, credential: AdminKey, platform: PlatformDep) -> HoldPublic:
    """Keep the session's data (retention and erasure pass it by) until the hold is lifted."""
    since = place_hold(platform.service.store, credential.college_id, session_id, body.reason, f"key:{credential.id}")
    return HoldPublic(session_id=session_id, held_since=since, reason=body.reason.strip())


@router.delete("/sessions/{session_id}/hold", status_code=status.HTTP_204_NO_CONTENT)
def unhold(session_id: str, credential: AdminKey, platform: PlatformDep) -> None:
    """Lift the session's hold (nothing when it has none)."""
    lift_hold(platform.service.store, credential.college_id, session_id, f"key:{credential.id}")


@router.get("/retention", response_model=RetentionPublic)
def retention(credential: AdminKey, platform: PlatformDep) -> RetentionPublic:
    """The college's retention periods in force."""
    store = platform.service.store
    with store.sessions() as db:
        policy = policy_of(db, credential.college_id, store.config.retention_days)
    return RetentionPublic(**policy.as_json())


@router.put("/retention", response_model=RetentionPublic)
def set_retention(body: RetentionUpdate, credential: AdminKey, platform: PlatformDep) -> RetentionPublic:
    """Change some of the college's retention periods (the fields sent); the change is a ledger record."""
    policy = set_policy(platform.service.store, credential.college_id, body.model_dump(exclude_unset=True))
    return RetentionPublic(**policy.as_json())
