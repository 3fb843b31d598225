"""What a reviewer does on the desk: confirm, dismiss or note an event (scripts, JSON with the CSRF header),
give a verdict (a form), and — admins — set an exam's weights (a form). Each is one transaction that also
writes its ledger record and footprint statement."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from proctor.events.vocabulary import SCORED
from proctor.review.access import Reviewer, reviewer_session
from proctor.review.decisions import Decisions, ReviewAction
from proctor.review.rescore import reweight_exam
from proctor.sessions.errors import InvalidInputError
from web.deps import ServicesDep
from web.desk.auth import CsrfChecked
from web.desk.pages import render_session
from web.platform import PlatformDep
from web.routes.college.models import MultilineText

router = APIRouter(prefix="/desk", include_in_schema=False)


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["confirmed", "dismissed", "noted"]
    note: MultilineText = Field("", max_length=5000)


class ReviewPublic(BaseModel):
    id: int
    event_seq: int
    action: str
    note: str
    examiner: str
    ledger_index: int


@router.post("/api/sessions/{session_id}/events/{seq}/review", status_code=status.HTTP_201_CREATED)
def review_event(
    session_id: str, seq: int, body: ReviewCreate, user: CsrfChecked, platform: PlatformDep
) -> ReviewPublic:
    """Confirm, dismiss or note one event (a new decision each time, in the ledger and the footprint)."""
    reviewer = Reviewer.of(user.person)
    recorded = Decisions(platform.service).review_event(reviewer, session_id, seq, ReviewAction(body.action), body.note)
    return ReviewPublic(
        id=recorded.id,
        event_seq=recorded.event_seq,
        action=recorded.action.value,
        note=recorded.note,
        examiner=reviewer.full_name,
        ledger_index=recorded.ledger_index,
    )


@router.post("/sessions/{session_id}/verdict")
def give_verdict(
    request: Request,
    session_id: str,
    user: CsrfChecked,
    platform: PlatformDep,
    services: ServicesDep,
    verdict: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """The verdict form: a new decision (the page shows every earlier one), then back to the session."""
    reviewer = Reviewer.of(user.person)
    try:
        Decisions(platform.service).verdict(reviewer, session_id, verdict, reason)
    except InvalidInputError:
        why = "desk.verdict.reason_required" if verdict in ("annulled", "retake") else "desk.verdict.invalid"
        return render_session(
            request, services, user, session_id, status=422, verdict_error=why, verdict=verdict, reason=reason
        )
    platform.notifier.notify(session_id, "session.verdict")
    return RedirectResponse(f"/desk/sessions/{session_id}#verdict", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/sessions/{session_id}/idcard/{attempt}/reference")
def confirm_card_reference(session_id: str, attempt: int, user: CsrfChecked, platform: PlatformDep) -> Response:
    """An examiner takes the card's photo of one check as the reference of a candidate enrolled without one
    (`IdDocuments.confirm_reference`: the ledger records it); 409 when the candidate has a reference photo already
    or the check found no face on the card, 404 unless this reviewer may see the session."""
    reviewer = Reviewer.of(user.person)
    with platform.service.sessions() as db:
        reviewer_session(db, reviewer, session_id)  # not found unless this reviewer may see it
    platform.service.id_documents.confirm_reference(reviewer.college_id, session_id, attempt, reviewer.user_id)
    return RedirectResponse(f"/desk/sessions/{session_id}#idcard-{attempt}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/exams/{exam_id}/weights")
async def set_weights(request: Request, exam_id: str, user: CsrfChecked, platform: PlatformDep) -> Response:
    """An admin's new weights for the exam's event types; every session is re-scored (no re-analysis)."""
    form = await request.form()
    weights: dict[str, float] = {}
    for event_type in sorted(t.value for t in SCORED):
        given = form.get(f"weight.{event_type}")
        if isinstance(given, str) and given.strip():
            try:
                weights[event_type] = float(given.replace(",", "."))
            except ValueError:
                raise InvalidInputError(f"the weight of {event_type} must be a number, not {given!r}") from None
    back = form.get("back")
    reviewer = Reviewer.of(user.person)
    await run_in_threadpool(reweight_exam, platform.service.store, reviewer, exam_id, weights)
    target = back if isinstance(back, str) and back.startswith("/desk/") else f"/desk/exams/{exam_id}"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
