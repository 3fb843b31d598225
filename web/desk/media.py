"""What the desk shows of a session's media, to a reviewer who may see its exam and to nobody else: the
recording (HTTP Range, so the player seeks without downloading it), evidence pictures and their cached
thumbnails, the candidate's reference photo and their ID card's picture. Never cached by shared caches.

Each view of a recording, an evidence picture, a reference photo or a face is written to the access trail
(web/access_trail.py). Thumbnails are not: a session page loads one of every event at once, which would be dozens of
ledger appends per page; opening the full picture is the view that counts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from proctor.review.access import reviewer_session
from proctor.review.thumbnails import thumbnail
from proctor.sessions.errors import NotFoundError
from proctor.sessions.tables import CandidateRow, EventRow, SessionFaceRow
from web.access_trail import Actor, record_access, starts_a_viewing
from web.deps import ServicesDep
from web.desk.auth import ReviewerDep
from web.platform import PlatformDep
from web.ranges import range_response

router = APIRouter(prefix="/desk", include_in_schema=False)

PRIVATE = {"Cache-Control": "private, no-store"}
PRIVATE_CACHED = {"Cache-Control": "private, max-age=86400"}
"""Evidence pictures never change once stored: the reviewer's own browser may keep them for a day."""


def _event_evidence(platform: PlatformDep, reviewer: ReviewerDep, session_id: str, seq: int) -> EventRow:
    with platform.service.sessions() as db:
        row = reviewer_session(db, reviewer, session_id).session
        event = db.scalars(
            select(EventRow).where(
                EventRow.session_id == session_id, EventRow.analysis_run == row.analysis_run, EventRow.seq == seq
            )
        ).first()
    if event is None or not event.evidence_key or event.evidence_purged_at is not None:
        raise NotFoundError(f"no evidence for event {seq}")
    return event


@router.get("/sessions/{session_id}/recording")
def recording(
    session_id: str,
    request: Request,
    reviewer: ReviewerDep,
    platform: PlatformDep,
    services: ServicesDep,
    track: Annotated[Literal["camera", "screen", "side"], Query()] = "camera",
) -> Response:
    """The session's kept recording as one playable file, with Range requests."""
    with platform.service.sessions() as db:
        reviewer_session(db, reviewer, session_id)
    playback = platform.service.playbacks.open(reviewer.college_id, session_id, track)
    range_header = request.headers.get("range")
    if starts_a_viewing(range_header):  # a player seeking sends more ranges: one viewing, one record
        record_access(services, reviewer.college_id, Actor.person(reviewer), "recording", session_id, request)
    return range_response(playback, range_header, PRIVATE)


@router.get("/sessions/{session_id}/events/{seq}/evidence")
def evidence(
    session_id: str, seq: int, request: Request, reviewer: ReviewerDep, platform: PlatformDep, services: ServicesDep
) -> Response:
    """The full evidence picture of an event."""
    event = _event_evidence(platform, reviewer, session_id, seq)
    try:
        with platform.service.storage.open(event.evidence_key or "") as handle:
            picture = handle.read()
    except FileNotFoundError:
        raise NotFoundError(f"no evidence for event {seq}") from None
    record_access(services, reviewer.college_id, Actor.person(reviewer), "evidence", f"{session_id}/{seq}", request)
    return Response(picture, media_type="image/jpeg", headers=PRIVATE_CACHED)


@router.get("/sessions/{session_id}/events/{seq}/thumb")
async def evidence_thumbnail(session_id: str, seq: int, reviewer: ReviewerDep, platform: PlatformDep) -> Response:
    """A small picture of an event's evidence (made once, then served from storage)."""
    event = await run_in_threadpool(_event_evidence, platform, reviewer, session_id, seq)
    try:
        small = await run_in_threadpool(
            thumbnail, platform.service.store, event.evidence_key or "", event.analysis_run, seq
        )
    except FileNotFoundError:
        raise NotFoundError(f"no evidence for event {seq}") from None
    return Response(small, media_type="image/jpeg", headers=PRIVATE_CACHED)


@router.get("/sessions/{session_id}/reference")
def reference_photo(
    session_id: str, request: Request, reviewer: ReviewerDep, platform: PlatformDep, services: ServicesDep
) -> Response:
    """The candidate's enrolled reference photo."""
    with platform.service.sessions() as db:
        row = reviewer_session(db, reviewer, session_id).session
        candidate = db.get(CandidateRow, row.candidate_id)
    if candidate is None:
        raise NotFoundError(f"no candidate of session {session_id}")
    if candidate.photo_key is None:
        raise NotFoundError("the candidate has no reference photo")
    try:
        with platform.service.storage.open(candidate.photo_key) as handle:
            photo = handle.read()
    except FileNotFoundError:
        raise NotFoundError("the reference photo is no longer kept") from None
    record_access(services, reviewer.college_id, Actor.person(reviewer), "reference_photo", session_id, request)
    return Response(photo, media_type="image/jpeg", headers=PRIVATE_CACHED)


@router.get("/sessions/{session_id}/idcard/{attempt}")
def id_card_picture(
    session_id: str, attempt: int, request: Request, reviewer: ReviewerDep, platform: PlatformDep, services: ServicesDep
) -> Response:
    """The picture of the candidate's ID card from one check at the door (biometric: every view is recorded)."""
    with platform.service.sessions() as db:
        reviewer_session(db, reviewer, session_id)
    try:
        picture, media_type = platform.service.id_documents.picture(reviewer.college_id, session_id, attempt)
    except FileNotFoundError:
        raise NotFoundError("the ID card picture is no longer kept") from None
    where = f"{session_id}/{attempt}"
    record_access(services, reviewer.college_id, Actor.person(reviewer), "id_card", where, request)
    return Response(picture, media_type=media_type, headers=PRIVATE)


@router.get("/faces/{face_id}")
def face_photo(
    face_id: int, request: Request, reviewer: ReviewerDep, platform: PlatformDep, services: ServicesDep
) -> Response:
    """The crop of a face the analysis saw in a session (to compare it with another session's)."""
    with platform.service.sessions() as db:
        face = db.get(SessionFaceRow, face_id)
        try:
            if face is None:
                raise NotFoundError(f"no face {face_id}")
            reviewer_session(db, reviewer, face.session_id)  # not found unless the reviewer may see its exam
        except NotFoundError:
            raise NotFoundError(f"no face {face_id}") from None  # says nothing of whose it is
    if face.photo_key is None or face.photo_purged_at is not None:
        raise NotFoundError(f"the picture of face {face_id} is no longer kept")
    try:
        with platform.service.storage.open(face.photo_key) as handle:
            picture = handle.read()
    except FileNotFoundError:
        raise NotFoundError(f"the picture of face {face_id} is no longer kept") from None
    record_access(services, reviewer.college_id, Actor.person(reviewer), "face", face_id, request)
    return Response(picture, media_type="image/jpeg", headers=PRIVATE_CACHED)
