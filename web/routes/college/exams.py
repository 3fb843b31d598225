"""College API: exams, their candidates and sessions (create and list), and the college's webhook."""

from __future__ import annotations

import logging
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from proctor.sessions import listing
from proctor.sessions.gate import OPERATOR_MUST_ACT, GateKeyError
from proctor.sessions.tables import CandidateRow, ExamRow, SessionRow
from web.auth import AdminKey, SessionsKey
from web.deps import SettingsDep
from web.platform import PlatformDep
from web.routes.college.models import (
    CandidatePublic,
    ExamCreate,
    ExamPublic,
    GateSet,
    Page,
    SessionCreate,
    SessionCreated,
    SessionSummary,
    WebhookPublic,
    WebhookSet,
    plain_text,
)
from web.routes.college.uploads import form_file
from web.urls import public_url

logger = logging.getLogger(__name__)

router = APIRouter(tags=["college"])

PHOTO_LIMIT = 10 * 1024 * 1024

Limit = Annotated[int, Query(ge=1, le=listing.MAX_PAGE, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, description="Items to skip.")]
Item = TypeVar("Item")


def _exam(row: ExamRow) -> ExamPublic:
    return ExamPublic(
        id=row.id,
        title=row.title,
        attestation=row.attestation,
        policy=row.policy,
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        duration_min=row.duration_min,
        content_url=row.content_url,
        gated=row.gate_secret is not None,
        created_at=row.created_at,
    )


def _candidate(row: CandidateRow) -> CandidatePublic:
    return CandidatePublic(
        id=row.id,
        exam_id=row.exam_id,
        external_id=row.external_id,
        full_name=row.full_name,
        created_at=row.created_at,
        reference_photo=row.embedding is not None,
        withdrawn=row.withdrawn_at is not None,
    )


def _summary(row: SessionRow) -> SessionSummary:
    return SessionSummary(
        id=row.id,
        candidate_id=row.candidate_id,
        status=row.status,
        analysis=row.job_state,
        score=row.score,
        created_at=row.created_at,
        analysed_at=row.analysed_at,
    )


def _page(page: listing.Page[object], items: list[Item], request: Request) -> Page[Item]:
    following = None
    if page.has_more:
        following = public_url(request, offset=page.paging.offset + page.paging.limit)
    return Page[Item](items=items, total=page.total, limit=page.paging.limit, offset=page.paging.offset, next=following)


@router.post("/exams", status_code=status.HTTP_201_CREATED, response_model=ExamPublic)
def create_exam(body: ExamCreate, credential: SessionsKey, platform: PlatformDep) -> ExamPublic:
    """Create an exam with its attestation kind and policy."""
    row = platform.service.create_exam(
        credential.college_id,
        body.title,
        body.attestation,
        body.policy,
        body.opens_at,
        body.closes_at,
        duration_min=body.duration_min,
        content_url=str(body.content_url) if body.content_url else None,
    )
    return _exam(row)


@router.get("/exams", response_model=Page[ExamPublic])
def list_exams(
    request: Request,
    credential: SessionsKey,
    platform: PlatformDep,
    limit: Limit = 50,
    offset: Offset = 0,
    attestation: Annotated[str | None, Query(pattern="^(interim|final)$")] = None,
) -> Page[ExamPublic]:
    """The college's exams, newest first."""
    with platform.service.sessions() as db:
        page = listing.exams(db, credential.college_id, listing.Paging(limit, offset), attestation)
        return _page(page, [_exam(row) for row in page.items], request)


@router.get("/exams/{exam_id}", response_model=ExamPublic)
def get_exam(exam_id: str, credential: SessionsKey, platform: PlatformDep) -> ExamPublic:
    """One exam of this college."""
    with platform.service.sessions() as db:
        return _exam(platform.service.exam(db, credential.college_id, exam_id))


GATE_RESPONSES: dict[int | str, dict[str, object]] = {
    404: {"description": "No such exam of this college."},
    503: {"description": "The platform's key of the quiz passwords is missing or wrong (the message says what to do)."},
}


@router.put("/exams/{exam_id}/gate", status_code=status.HTTP_204_NO_CONTENT, responses=GATE_RESPONSES)
def set_quiz_password(exam_id: str, body: GateSet, credential: SessionsKey, platform: PlatformDep) -> Response:
    """Keep the exam's LMS quiz password ("no proctoring, no attempt"): set the same password on the quiz in the
    LMS; the candidate's page shows it only inside a proctored session in progress (after consent, the identity
    check and the room scan), so the quiz cannot be opened without proctoring. It is kept encrypted and is never in
    any answer of this API, a log line or the ledger (which records that it was set). Setting it again replaces it."""
    try:
        platform.service.gates.set(credential.college_id, exam_id, body.password)
    except GateKeyError as exc:
        logger.error("exam %s: the quiz password is not kept: %s", exam_id, exc)
        raise HTTPException(503, OPERATOR_MUST_ACT) from exc
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/exams/{exam_id}/gate", status_code=status.HTTP_204_NO_CONTENT, responses=GATE_RESPONSES)
def remove_quiz_password(exam_id: str, credential: SessionsKey, platform: PlatformDep) -> Response:
    """Forget the exam's LMS quiz password (the candidates' pages no longer show one); recorded in the ledger.
    Removing a password the exam does not have is no error."""
    platform.service.gates.remove(credential.college_id, exam_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/exams/{exam_id}/candidates", status_code=status.HTTP_201_CREATED, response_model=CandidatePublic)
async def add_candidate(
    exam_id: str, request: Request, credential: SessionsKey, platform: PlatformDep
) -> CandidatePublic:
    """Enrol a candidate: multipart `external_id`, `full_name` and `photo` (one sharp face, large enough)."""
    async with form_file(request, "photo", PHOTO_LIMIT) as form:
        external_id = form.fields.get("external_id", "").strip()
        full_name = form.fields.get("full_name", "").strip()
        if not external_id or not full_name or len(external_id) > 128 or len(full_name) > 300:
            raise HTTPException(400, "external_id (≤ 128 chars) and full_name (≤ 300 chars) are required")
        for name, value in (("external_id", external_id), ("full_name", full_name)):
            try:
                plain_text(value)
            except ValueError as exc:
                raise HTTPException(400, f"{name} {exc}") from exc
        photo = await form.file.read(PHOTO_LIMIT + 1)
    if len(photo) > PHOTO_LIMIT:
        raise HTTPException(413, f"photo larger than {PHOTO_LIMIT} bytes")
    row: CandidateRow = await run_in_threadpool(
        platform.service.add_candidate, credential.college_id, exam_id, external_id, full_name, photo
    )
    return _candidate(row)


@router.get("/exams/{exam_id}/candidates", response_model=Page[CandidatePublic])
def list_candidates(
    exam_id: str,
    request: Request,
    credential: SessionsKey,
    platform: PlatformDep,
    limit: Limit = 50,
    offset: Offset = 0,
    external_id: Annotated[str | None, Query(max_length=128)] = None,
) -> Page[CandidatePublic]:
    """An exam's candidates in enrolment order (`external_id` finds one by the college's own id)."""
    with platform.service.sessions() as db:
        page = listing.candidates(db, credential.college_id, exam_id, listing.Paging(limit, offset), external_id)
        return _page(page, [_candidate(row) for row in page.items], request)


@router.post("/exams/{exam_id}/sessions", status_code=status.HTTP_201_CREATED, response_model=SessionCreated)
def create_session(
    exam_id: str, body: SessionCreate, credential: SessionsKey, platform: PlatformDep, settings: SettingsDep
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


@router.get("/exams/{exam_id}/sessions", response_model=Page[SessionSummary])
def list_sessions(
    exam_id: str,
    request: Request,
    credential: SessionsKey,
    platform: PlatformDep,
    limit: Limit = 50,
    offset: Offset = 0,
    session_status: Annotated[str | None, Query(alias="status", max_length=24)] = None,
    analysis: Annotated[str | None, Query(pattern="^(none|queued|running|done|failed)$")] = None,
    min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    max_score: Annotated[float | None, Query(ge=0, le=100)] = None,
) -> Page[SessionSummary]:
    """An exam's sessions, highest score first (the ones to review first); filter by status, analysis, score."""
    where = listing.SessionFilter(session_status, analysis, min_score, max_score)
    with platform.service.sessions() as db:
        page = listing.sessions(db, credential.college_id, exam_id, listing.Paging(limit, offset), where)
        return _page(page, [_summary(row) for row in page.items], request)


@router.put("/webhook", response_model=WebhookPublic)
def set_webhook(body: WebhookSet, credential: AdminKey, platform: PlatformDep) -> WebhookPublic:
    """Set the college's webhook URL (a public address: 422 says why another is refused); the answer holds the
    signing secret."""
    row = platform.notifier.register(credential.college_id, str(body.url))
    return WebhookPublic(url=row.url, secret=row.secret)
