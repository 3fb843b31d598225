"""College API: a session's recording (upload and playback), analysis state, events, evidence and verdicts."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from proctor.sessions import listing
from proctor.sessions.analyses import eta_s
from proctor.sessions.notify import session_summary
from proctor.sessions.recordings import Upload
from proctor.sessions.tables import ChunkRow, DecisionRow, EventRow
from web.access_trail import Actor, record_access, starts_a_viewing
from web.auth import SessionsKey
from web.deps import ServicesDep, SettingsDep
from web.platform import PlatformDep, SessionPlatform
from web.ranges import range_response
from web.routes.college.models import DecisionPublic, EventPublic, ReanalysisQueued, SessionPublic, VerdictCreate
from web.routes.college.uploads import discard, display_name, form_file, save_upload

router = APIRouter(tags=["college"])

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
PRIVATE = {"Cache-Control": "private, no-store"}
EXTENSIONS = {"video/mp4": "mp4", "video/webm": "webm", "video/x-matroska": "mkv", "audio/webm": "webm"}
"""A downloaded recording's file name ends as its format (a player picks by the name)."""


@router.post(
    "/sessions/{session_id}/recording",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SessionPublic,
    responses={409: {"description": "The Idempotency-Key was used before for a different file."}},
)
async def upload_recording(
    session_id: str,
    request: Request,
    credential: SessionsKey,
    platform: PlatformDep,
    settings: SettingsDep,
    idempotency_key: Annotated[
        str | None,
        Header(description="Makes a retry safe: the same key (or the same file) answers with the first upload."),
    ] = None,
) -> JSONResponse:
    """Upload a recording (multipart `file`); it is kept as hashed chunks and analysed in a worker.

    Sending the same file again — a retry after a lost answer — stores nothing new and answers with the
    session as the first upload left it (header `Idempotent-Replayed: true`).
    """
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        raise HTTPException(400, "Idempotency-Key must be 1–255 visible ASCII characters")
    limit = settings.max_recording_bytes
    await run_in_threadpool(_check_session, platform, credential.college_id, session_id)  # 404 before the body
    async with form_file(request, "file", limit) as form:
        staged = await save_upload(form.file, platform.staging, limit)
        name = display_name(form.file.filename)
    upload = Upload(staged.path, staged.sha256, staged.size, name, idempotency_key)
    try:
        accepted = await run_in_threadpool(
            platform.service.recordings.accept, credential.college_id, session_id, upload
        )
    finally:
        discard(staged.path)
    if not accepted.replayed:
        platform.worker.submit(session_id)
    body = await run_in_threadpool(_session, platform, credential.college_id, session_id)
    headers = {"Idempotent-Replayed": "true"} if accepted.replayed else {}
    return JSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED, headers=headers)


def _check_session(platform: SessionPlatform, college_id: str, session_id: str) -> None:
    with platform.service.sessions() as db:
        platform.service.session(db, college_id, session_id)


@router.get("/sessions/{session_id}", response_model=SessionPublic)
def get_session(session_id: str, credential: SessionsKey, platform: PlatformDep) -> SessionPublic:
    """Status, analysis progress, score, per-type contributions, event counts and the latest verdict."""
    return _session(platform, credential.college_id, session_id)


def _decision(row: DecisionRow) -> DecisionPublic:
    return DecisionPublic(verdict=row.verdict, examiner=row.examiner, note=row.note, created_at=row.created_at)


def _session(platform: SessionPlatform, college_id: str, session_id: str) -> SessionPublic:
    service = platform.service
    with service.sessions() as db:
        row = service.session(db, college_id, session_id)
        summary = session_summary(db, row)
        decision = db.scalars(
            select(DecisionRow).where(DecisionRow.session_id == session_id).order_by(DecisionRow.id.desc()).limit(1)
        ).first()
        chunks, seconds = db.execute(
            select(func.count(ChunkRow.id), func.coalesce(func.sum(ChunkRow.duration_s), 0.0)).where(
                ChunkRow.session_id == session_id
            )
        ).one()
        progress = row.job_progress if row.job_state in ("running", "done") else None
        return SessionPublic(
            id=row.id,
            exam_id=row.exam_id,
            candidate_id=row.candidate_id,
            status=row.status,
            analysis=row.job_state,
            analysis_progress=0.0 if row.job_state == "queued" else progress,
            analysis_eta_s=eta_s(row.job_started_at, row.job_progress) if row.job_state == "running" else None,
            analysis_error=row.job_error,
            score=row.score,
            contributions=summary["contributions"],
            event_counts=summary["event_counts"],
            verdict=_decision(decision) if decision else None,
            recording_chunks=int(chunks),
            recording_seconds=round(float(seconds), 2),
            live_started_at=row.live_started_at,
            identity=row.identity,
            consent=row.consent,
            recording_sealed_at=row.recording_sealed_at,
            recording_check=row.recording_check,
        )


@router.post(
    "/sessions/{session_id}/analysis",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SessionPublic,
    responses={409: {"description": "A verdict stands, or no uploaded recording is kept."}},
)
def reanalyse_session(session_id: str, credential: SessionsKey, platform: PlatformDep) -> SessionPublic:
    """Analyse the session's kept recording again, as a new analysis run (the events of earlier runs stay);
    the job runs on whichever node or Ray worker is free."""
    platform.service.analyses.reanalyse(credential.college_id, session_id)
    platform.worker.submit(session_id)
    return _session(platform, credential.college_id, session_id)


@router.post("/exams/{exam_id}/analysis", status_code=status.HTTP_202_ACCEPTED, response_model=ReanalysisQueued)
def reanalyse_exam(exam_id: str, credential: SessionsKey, platform: PlatformDep) -> ReanalysisQueued:
    """Bulk re-analysis: every analysed session of the exam with a kept upload gets a new analysis run, spread
    over the cluster's workers (judged and live sessions are left as they are)."""
    queued, skipped = platform.service.analyses.reanalyse_exam(credential.college_id, exam_id)
    for session_id in queued:
        platform.worker.submit(session_id)
    return ReanalysisQueued(exam_id=exam_id, queued=queued, skipped=skipped)


@router.get("/sessions/{session_id}/events", response_model=list[EventPublic])
def list_events(
    session_id: str, credential: SessionsKey, platform: PlatformDep, settings: SettingsDep
) -> list[EventPublic]:
    """The events of the latest analysis, with evidence URLs that need the same key."""
    rows = platform.service.events(credential.college_id, session_id)
    return [_event(row, f"{settings.base_url}/api/v1/sessions/{session_id}") for row in rows]


def _event(row: EventRow, base: str) -> EventPublic:
    evidence = f"{base}/events/{row.seq}/evidence" if row.evidence_key and row.evidence_purged_at is None else None
    return EventPublic(
        seq=row.seq,
        type=row.type,
        start_s=row.start_s,
        end_s=row.end_s,
        duration_s=round(row.end_s - row.start_s, 3),
        severity=row.severity,
        confidence=row.confidence,
        technical=row.technical,
        peak_s=row.peak_s,
        measurements=row.measurements,
        evidence_url=evidence,
        open=row.state == "open",
        opened_at=row.opened_at,
        detected_s=row.detected_s,
    )


@router.get("/sessions/{session_id}/events/{seq}/evidence", response_class=Response)
def get_evidence(
    session_id: str, seq: int, request: Request, credential: SessionsKey, platform: PlatformDep, services: ServicesDep
) -> Response:
    """The JPEG of an event's peak frame (never served without this college's key); each download is written to the
    access trail."""
    for row in platform.service.events(credential.college_id, session_id):
        if row.seq == seq and row.evidence_key and row.evidence_purged_at is None:
            try:
                with platform.service.storage.open(row.evidence_key) as handle:
                    picture = handle.read()
            except FileNotFoundError:
                break  # purged meanwhile
            actor = Actor.key(credential)
            record_access(services, credential.college_id, actor, "evidence", f"{session_id}/{seq}", request)
            return Response(picture, media_type="image/jpeg", headers=PRIVATE)
    raise HTTPException(404, f"no evidence for event {seq}")


@router.get("/sessions/{session_id}/recording", response_class=StreamingResponse)
def get_recording(
    session_id: str,
    request: Request,
    credential: SessionsKey,
    platform: PlatformDep,
    services: ServicesDep,
    track: Annotated[
        Literal["camera", "screen", "side"],
        Query(
            description="`camera` (with the microphone), the candidate's shared `screen`, or the `side` camera (the "
            "phone beside the candidate)."
        ),
    ] = "camera",
) -> Response:
    """The whole kept recording as one file a browser plays (MP4 for H.264, WebM for VP8/VP9), remuxed from its
    pieces on the session's timeline; `Range` requests let a player seek without downloading it all.

    The file is opened before the answer starts, so a retention purge meanwhile cannot cut it short. Each viewing is
    written to the access trail.
    """
    playback = platform.service.playbacks.open(credential.college_id, session_id, track)
    range_header = request.headers.get("range")
    if starts_a_viewing(range_header):  # a player seeking sends more ranges: one viewing, one record
        record_access(services, credential.college_id, Actor.key(credential), "recording", session_id, request)
    extension = EXTENSIONS.get(playback.media_type.split(";")[0], "bin")
    named = {**PRIVATE, "Content-Disposition": f'inline; filename="session-{session_id}-{track}.{extension}"'}
    return range_response(playback, range_header, named)


@router.post("/sessions/{session_id}/verdict", status_code=status.HTTP_201_CREATED, response_model=SessionPublic)
def give_verdict(session_id: str, body: VerdictCreate, credential: SessionsKey, platform: PlatformDep) -> SessionPublic:
    """Record the examiner's verdict: confirmed, annulled or retake (a new decision each time)."""
    platform.service.decide(credential.college_id, session_id, body.verdict, body.examiner, body.note)
    platform.notifier.notify(session_id, "session.verdict")
    return _session(platform, credential.college_id, session_id)


@router.get("/sessions/{session_id}/verdicts", response_model=list[DecisionPublic])
def verdict_history(session_id: str, credential: SessionsKey, platform: PlatformDep) -> list[DecisionPublic]:
    """Every verdict given on the session, oldest first: a changed verdict is a new decision, never an edit."""
    with platform.service.sessions() as db:
        platform.service.session(db, credential.college_id, session_id)
        return [_decision(row) for row in listing.decisions(db, session_id)]
