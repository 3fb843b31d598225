"""The desk's pages: the exams a reviewer may see, an exam's sessions ranked for review, and one session's
review (recording, timeline strip, events, score, identity, verdict). Server-rendered in kk / ru / en; small
modules under `/assets/desk/` add the player, the keyboard and the decisions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import and_, func, select

from footprint.people import Role
from footprint.signins import SignedIn
from proctor.events.vocabulary import SCORED
from proctor.review.access import Reviewer, visible_exams
from proctor.review.overview import REVIEWABLE, OverviewFilter, exam_overview
from proctor.review.session_view import session_view
from proctor.sessions.id_documents import card_records
from proctor.sessions.lifecycle import Status
from proctor.sessions.tables import DecisionRow, SessionRow
from web.deps import ServicesDep
from web.desk.auth import DeskUser, OptionalSignInDep
from web.desk.render import render
from web.desk.strip import strip_svg

router = APIRouter(prefix="/desk", include_in_schema=False)

IIN_MESSAGES = (
    "desk.idcard.iin_valid",
    "desk.idcard.iin_not_found",
    "desk.idcard.iin_format",
    "desk.idcard.iin_check_digit",
    "desk.idcard.iin_century",
    "desk.idcard.iin_date",
)
"""What the identity panel says of an ID card's IIN, one message per IinReason (proctor/identity_document/iin.py)."""

BANDS = ("green", "yellow", "red")
SPEEDS = (0.5, 1, 1.5, 2, 4, 8, 16)
KEYS = (
    ("j", "desk.keys.next"),
    ("k", "desk.keys.previous"),
    ("c", "desk.keys.confirm"),
    ("d", "desk.keys.dismiss"),
    ("n", "desk.keys.note"),
)
VERDICTS = ("confirmed", "annulled", "retake")


@dataclass(frozen=True)
class ExamLine:
    """An exam on the desk's first page."""

    id: str
    title: str
    attestation: str
    sessions: int
    to_review: int


def common(user: SignedIn) -> dict[str, Any]:
    """What every desk page's frame shows: who is signed in, their CSRF token (for forms) and their role."""
    return {"user": user.person, "csrf": user.csrf_token, "is_admin": user.person.role == Role.ADMIN}


def _exam_lines(services: ServicesDep, reviewer: Reviewer) -> list[ExamLine]:
    with services.sessions() as db:
        exams = db.scalars(visible_exams(reviewer)).all()
        ids = [exam.id for exam in exams]
        decided = select(DecisionRow.session_id).distinct()
        counts = dict(
            db.execute(
                select(SessionRow.exam_id, func.count(SessionRow.id))
                .where(SessionRow.exam_id.in_(ids))
                .group_by(SessionRow.exam_id)
            ).all()
        )
        waiting = dict(
            db.execute(
                select(SessionRow.exam_id, func.count(SessionRow.id))
                .where(
                    and_(
                        SessionRow.exam_id.in_(ids),
                        SessionRow.status.in_(REVIEWABLE),
                        SessionRow.id.not_in(decided),
                    )
                )
                .group_by(SessionRow.exam_id)
            ).all()
        )
        return [
            ExamLine(e.id, e.title, e.attestation, int(counts.get(e.id, 0)), int(waiting.get(e.id, 0))) for e in exams
        ]


@router.get("", response_class=HTMLResponse)
def desk_home(request: Request, services: ServicesDep, signed: OptionalSignInDep) -> Response:
    """The exams the signed-in reviewer may see (nobody signed in: on to the sign-in page)."""
    if signed is None:
        return RedirectResponse("/desk/login", status_code=303)
    exams = _exam_lines(services, Reviewer.of(signed.person))
    return render(request, "desk/exams.html", {"exams": exams, **common(signed)})


@router.get("/exams/{exam_id}", response_class=HTMLResponse)
def exam_page(
    request: Request,
    exam_id: str,
    services: ServicesDep,
    user: DeskUser,
    status: Annotated[str | None, Query(max_length=24)] = None,
    band: Annotated[str | None, Query(max_length=8)] = None,
    event_type: Annotated[str | None, Query(alias="type", max_length=32)] = None,
    to_review: bool = False,
) -> Response:
    """An exam's sessions: the ones to review first, then by score; bands, counts per type, distribution."""
    where = OverviewFilter(
        status=status if status in {s.value for s in Status} else None,
        band=band if band in BANDS else None,
        event_type=event_type or None,
        to_review=to_review,
    )
    with services.sessions() as db:
        overview = exam_overview(db, Reviewer.of(user.person), exam_id, where)
    values = {
        "overview": overview,
        "where": where,
        "statuses": [s.value for s in Status],
        "bands": BANDS,
        "scored_types": sorted(t.value for t in SCORED),
        **common(user),
    }
    return render(request, "desk/exam.html", values)


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_page(request: Request, session_id: str, services: ServicesDep, user: DeskUser) -> Response:
    """One session's review: recording, strip, events, score, identity, decisions and verdict."""
    return render_session(request, services, user, session_id)


def render_session(
    request: Request,
    services: ServicesDep,
    user: SignedIn,
    session_id: str,
    *,
    status: int = 200,
    verdict_error: str | None = None,
    verdict: str = "",
    reason: str = "",
) -> HTMLResponse:
    """The session page (also after a refused verdict: with the form as it was sent and why it was refused)."""
    reviewer = Reviewer.of(user.person)
    with services.sessions() as db:
        view = session_view(db, reviewer, session_id)
        id_cards = card_records(db, session_id)
    values = {
        "view": view,
        "id_cards": id_cards,
        "strip": strip_svg(view),
        "speeds": SPEEDS,
        "keys": KEYS,
        "verdicts": VERDICTS,
        "scored_types": sorted(t.value for t in SCORED),
        "verdict_error": verdict_error,
        "verdict_sent": verdict,
        "reason_sent": reason,
        **common(user),
    }
    script = {"session": view.session_id, "csrf": user.csrf_token, "duration_s": view.duration_s}
    return render(request, "desk/session.html", values, status=status, script_data=script)
