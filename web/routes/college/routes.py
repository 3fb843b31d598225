"""College API routes: every object belongs to the key's college; another college's ids are 404."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from proctor.sessions.notify import session_summary
from proctor.sessions.tables import CandidateRow, ChunkRow, DecisionRow, EventRow, ExamRow
from web.auth import CredentialDep
from web.deps import SettingsDep
from web.platform import PlatformDep
from web.routes.college.models import (
    CandidatePublic,
    DecisionPublic,
    EventPublic,
    ExamCreate,
    ExamPublic,
    SessionCreate,
    SessionCreated,
    SessionPublic,
    VerdictCreate,
    WebhookPublic,
    WebhookSet,
)
from web.routes.college.uploads import discard, form_file, save_upload

router = APIRouter(prefix="/api/v1", tags=["college"])

PHOTO_LIMIT = 10 * 1024 * 1024


def _exam(row: ExamRow) -> ExamPublic:
    return ExamPublic(
        id=row.id,
        title=row.title,
        attestation=row.attestation,
        policy=row.policy,
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        created_at=row.created_at,
    )


@router.post("/exams", status_code=status.HTTP_201_CREATED, response_model=ExamPublic)
def create_exam(body: ExamCreate, credential: CredentialDep, platform: PlatformDep) -> ExamPublic:
    """Create an exam with its attestation kind and policy."""
    row = platform.service.create_exam(
        credential.college_id, body.title, body.attestation, body.policy, body.opens_at, body.closes_at
    )
    return _exam(row)


@router.get("/exams/{exam_id}", response_model=ExamPublic)
def get_exam(exam_id: str, credential: CredentialDep, platform: PlatformDep) -> ExamPublic:
    """One exam of this college."""
    with platform.service.sessions() as db:
        return _exam(platform.service.exam(db, credential.college_id, exam_id))


@router.post("/exams/{exam_id}/candidates", status_code=status.HTTP_201_CREATED, response_model=CandidatePublic)
async def add_candidate(
    exam_id: str, request: Request, credential: CredentialDep, platform: PlatformDep
) -> CandidatePublic:
    """Enrol a candidate: multipart `external_id`, `full_name` and `photo` (one sharp face, large enough)."""
    async with form_file(request, "photo", PHOTO_LIMIT) as form:
        external_id = form.fields.get("external_id", "").strip()
        full_name = form.fields.get("full_name", "").strip()
        if not external_id or not full_name or len(external_id) > 128 or len(full_name) > 300:
            raise HTTPException(400, "external_id (≤ 128 chars) and full_name (≤ 300 chars) are required")
        photo = await form.file.read(PHOTO_LIMIT + 1)
    if len(photo) > PHOTO_LIMIT:
        raise HTTPException(413, f"photo larger than {PHOTO_LIMIT} bytes")
    row: CandidateRow = await run_in_threadpool(
        platform.service.add_candidate, credential.college_id, exam_id, external_id, full_name, photo
    )
    return CandidatePublic(
        id=row.id, exam_id=row.exam_id, external_id=row.external_id, full_name=row.full_name, created_at=row.created_at
    )


@router.post("/exams/{exam_id}/sessions", status_code=status.HTTP_201_CREATED, response_model=SessionCreated)
def create_session(
    exam_id: str, body: SessionCreate, credential: CredentialDep, platform: PlatformDep, settings: SettingsDep
) -> SessionCreated:
    """Create a session for a candidate; the answer holds the candidate's one-time join link."""
    row, token = platform.service.create_session(credential.college_id, exam_id, body.candidate_id)
    return SessionCreated(
        id=row.id,
        exam_id=row.exam_id,
        candidate_id=row.candidate_id,
        status=row.status,
        join_url=f"{settings.base_url}/join/{token}",
    )


@router.post("/sessions/{session_id}/recording", status_code=status.HTTP_202_ACCEPTED, response_model=SessionPublic)
async def upload_recording(
    session_id: str, request: Request, credential: CredentialDep, platform: PlatformDep, settings: SettingsDep
) -> SessionPublic:
    """Upload a recording (multipart `file`); it is kept as hashed chunks and analysed in a worker."""
    limit = settings.max_recording_bytes
    with platform.service.sessions() as db:
        platform.service.session(db, credential.college_id, session_id)  # 404 before reading the body
    async with form_file(request, "file", limit) as form:
        staged = await save_upload(form.file, platform.service.storage.root / ".incoming", limit)
    try:
        await run_in_threadpool(platform.service.accept_recording, credential.college_id, session_id, staged)
    finally:
        discard(staged)
    platform.worker.submit(session_id)
    return _session(platform, credential.college_id, session_id)


@router.get("/sessions/{session_id}", response_model=SessionPublic)
def get_session(session_id: str, credential: CredentialDep, platform: PlatformDep) -> SessionPublic:
    """Status, score, per-type contributions, event counts and verdict of a session."""
    return _session(platform, credential.college_id, session_id)


def _session(platform: PlatformDep, college_id: str, session_id: str) -> SessionPublic:
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
        return SessionPublic(
            id=row.id,
            exam_id=row.exam_id,
            candidate_id=row.candidate_id,
            status=row.status,
            analysis=row.job_state,
            analysis_error=row.job_error,
            score=row.score,
            contributions=summary["contributions"],
            event_counts=summary["event_counts"],
            verdict=DecisionPublic(
                verdict=decision.verdict, examiner=decision.examiner, note=decision.note, created_at=decision.created_at
            )
            if decision
            else None,
            recording_chunks=int(chunks),
            recording_seconds=round(float(seconds), 2),
        )


@router.get("/sessions/{session_id}/events", response_model=list[EventPublic])
def list_events(
    session_id: str, credential: CredentialDep, platform: PlatformDep, settings: SettingsDep
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
    )


@router.get("/sessions/{session_id}/events/{seq}/evidence", response_class=Response)
def get_evidence(session_id: str, seq: int, credential: CredentialDep, platform: PlatformDep) -> Response:
    """The JPEG of an event's peak frame (never served without this college's key)."""
    for row in platform.service.events(credential.college_id, session_id):
        if row.seq == seq and row.evidence_key and row.evidence_purged_at is None:
            path = platform.service.storage.local_path(row.evidence_key)
            return Response(path.read_bytes(), media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})
    raise HTTPException(404, f"no evidence for event {seq}")


@router.get("/sessions/{session_id}/recording", response_class=StreamingResponse)
def get_recording(session_id: str, credential: CredentialDep, platform: PlatformDep) -> StreamingResponse:
    """The whole kept recording, played back from its chunks (MPEG-TS chunks concatenate into one stream)."""
    service = platform.service
    with service.sessions() as db:
        service.session(db, credential.college_id, session_id)
        chunks = db.scalars(
            select(ChunkRow)
            .where(ChunkRow.session_id == session_id, ChunkRow.purged_at.is_(None))
            .order_by(ChunkRow.seq)
        ).all()
    if not chunks:
        raise HTTPException(404, "no recording is kept for this session")
    paths = [service.storage.local_path(c.storage_key) for c in chunks]
    if any(c.container != "mpegts" for c in chunks):
        paths = paths[:1]  # Matroska chunks do not concatenate; the first one plays alone
    media_type = "video/mp2t" if chunks[0].container == "mpegts" else "video/x-matroska"

    def stream(files: list[Path]) -> Iterator[bytes]:
        for file in files:
            with file.open("rb") as handle:
                while block := handle.read(1 << 20):
                    yield block

    return StreamingResponse(stream(paths), media_type=media_type, headers={"Cache-Control": "private, no-store"})


@router.post("/sessions/{session_id}/verdict", status_code=status.HTTP_201_CREATED, response_model=SessionPublic)
def give_verdict(
    session_id: str, body: VerdictCreate, credential: CredentialDep, platform: PlatformDep
) -> SessionPublic:
    """Record the examiner's verdict: confirmed, annulled or retake (a new decision each time)."""
    platform.service.decide(credential.college_id, session_id, body.verdict, body.examiner, body.note)
    platform.notifier.notify(session_id, "session.verdict")
    return _session(platform, credential.college_id, session_id)


@router.put("/webhook", response_model=WebhookPublic)
def set_webhook(body: WebhookSet, credential: CredentialDep, platform: PlatformDep) -> WebhookPublic:
    """Set the college's webhook URL; the answer holds the signing secret."""
    row = platform.notifier.register(credential.college_id, str(body.url))
    return WebhookPublic(url=row.url, secret=row.secret)
