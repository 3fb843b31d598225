"""Foreign material on the desk (order 187 of 2026): an exam's written answers with their shares in matched passages,
findings first, and one answer's report — its sources with their shares, each matched passage side by side (the
answer left, the source right) with the differences marked, the mixed-alphabet finding — where the examiner confirms
or dismisses a finding (a form; a new decision each time, recorded in the ledger through proctor/material/decisions.py).

The same rules as every desk page of an exam: its assigned examiners and the college's admins; another college's
answer, or an exam the examiner is not assigned to, is not found (404)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from footprint.signins import SignedIn
from proctor.material.decisions import Action, Judge, MaterialDecisions
from proctor.material.report import Report, Side, Source, TextInfo
from proctor.material.service import MaterialService
from proctor.review.access import Reviewer, reviewer_exam
from proctor.sessions.errors import InvalidInputError, NotFoundError, StateError
from proctor.sessions.tables import ExamRow
from web.desk.auth import CsrfChecked, DeskUser
from web.desk.pages import common
from web.desk.render import render
from web.platform import PlatformDep

router = APIRouter(prefix="/desk", include_in_schema=False)

MAX_LISTED = 1000
"""Answers an exam's list reports on at once (each is checked when the list is opened: 20 ms or so an answer)."""
FINDING_KEYS = {"copy": "desk.material.finding_copy", "mixed_alphabets": "desk.material.finding_mixed_alphabets"}
"""The catalog key of each finding (proctor/material/report.py FINDINGS)."""
ACTION_KEYS = {"confirmed": "desk.material.action_confirmed", "dismissed": "desk.material.action_dismissed"}
"""The catalog key of each decision (proctor/material/decisions.py Action)."""
ERROR_KEYS = {409: "desk.material.error_no_finding", 422: "desk.material.error_invalid"}

PieceKind = Literal["context", "gap", "equal", "changed", "only"]


@dataclass(frozen=True)
class Segment:
    """A stretch of an excerpt as the page shows it: the context around the passage, the gaps between its marked
    pieces (spaces, punctuation), or a piece — equal on both sides, changed, or only on this side."""

    text: str
    kind: PieceKind


@dataclass(frozen=True)
class AnswerLine:
    """An answer in the exam's list: its overall share, its most similar source, findings and latest decisions."""

    answer: TextInfo
    share: float
    top: Source | None
    findings: tuple[str, ...]
    decided: dict[str, str]
    """The latest action on each finding decided so far."""

    @property
    def open(self) -> bool:
        """A finding the examiner has not decided on yet."""
        return any(finding not in self.decided for finding in self.findings)


def segments(side: Side) -> list[Segment]:
    """An excerpt cut into the context before the passage, the passage's pieces with the gaps between them, and
    the context after it (offsets relative to the excerpt, as the report gives them)."""
    text = side.excerpt
    start = max(0, min(len(text), side.start - side.excerpt_start))
    end = max(start, min(len(text), side.end - side.excerpt_start))
    out: list[Segment] = []
    if start > 0:
        out.append(Segment(text[:start], "context"))
    position = start
    for piece in sorted(side.pieces, key=lambda p: p.start):
        lo, hi = max(piece.start, position), min(piece.end, end)
        if hi <= lo:
            continue
        if lo > position:
            out.append(Segment(text[position:lo], "gap"))
        out.append(Segment(text[lo:hi], piece.kind))
        position = hi
    if end > position:
        out.append(Segment(text[position:end], "gap"))
        position = end
    if position < len(text):
        out.append(Segment(text[position:], "context"))
    return out


def letters(word: str) -> list[tuple[str, bool]]:
    """A word cut into runs of Latin and other letters (True: Latin), so the page can show which letters of a
    word that looks Cyrillic are Latin look-alikes."""
    runs: list[tuple[str, bool]] = []
    for char in word:
        latin = char.isalpha() and unicodedata.name(char, "").startswith("LATIN")
        if runs and runs[-1][1] == latin:
            runs[-1] = (runs[-1][0] + char, latin)
        else:
            runs.append((char, latin))
    return runs


def _answer_exam(db: Session, material: MaterialService, reviewer: Reviewer, answer_id: int) -> ExamRow:
    """The answer's exam, if the reviewer may see it; NotFoundError for anything else (another college's text, a
    reference source, an exam the examiner is not assigned to)."""
    row = material.text(db, reviewer.college_id, answer_id)
    if row.kind != "answer" or row.exam_id is None:
        raise NotFoundError(f"no answer {answer_id}")
    try:
        return reviewer_exam(db, reviewer, row.exam_id)
    except NotFoundError:
        raise NotFoundError(f"no answer {answer_id}") from None


def _line(report: Report) -> AnswerLine:
    top = max(report.sources, key=lambda source: source.share, default=None)
    decided = {}
    for decision in report.decisions:
        decided[decision.finding] = decision.action
    return AnswerLine(report.answer, report.share, top, report.findings, decided)


def _order(line: AnswerLine) -> tuple[bool, bool, float, int]:
    """Findings still to decide first, then decided findings, then by share (highest first)."""
    return (not line.open, not line.findings, -line.share, line.answer.id)


@router.get("/exams/{exam_id}/material", response_class=HTMLResponse)
def material_list(request: Request, exam_id: str, platform: PlatformDep, user: DeskUser) -> Response:
    """The exam's written answers with their shares in matched passages, findings first."""
    reviewer = Reviewer.of(user.person)
    material = platform.service.material
    with material.store.sessions() as db:
        exam = reviewer_exam(db, reviewer, exam_id)
        title = exam.title
    answers, total = material.texts(reviewer.college_id, kind="answer", exam_id=exam_id, limit=MAX_LISTED)
    lines = sorted((_line(material.report(reviewer.college_id, info.id)[0]) for info in answers), key=_order)
    values = {
        "exam_id": exam_id,
        "exam_title": title,
        "lines": lines,
        "total": total,
        "finding_keys": FINDING_KEYS,
        "action_keys": ACTION_KEYS,
        **common(user),
    }
    return render(request, "desk/material.html", values)


def render_report(
    request: Request,
    platform: PlatformDep,
    user: SignedIn,
    answer_id: int,
    *,
    status_code: int = 200,
    error: str | None = None,
    note: str = "",
) -> HTMLResponse:
    """One answer's report (also after a refused decision: with the note as it was sent and why it was refused)."""
    reviewer = Reviewer.of(user.person)
    material = platform.service.material
    with material.store.sessions() as db:
        exam = _answer_exam(db, material, reviewer, answer_id)
        exam_id, title = exam.id, exam.title
    report, _, _ = material.report(reviewer.college_id, answer_id)
    choices = list(report.findings)
    if report.sources and "copy" not in choices:
        choices.insert(0, "copy")  # a share under the threshold may still be judged a copy
    sides = [
        [(segments(passage.answer), segments(passage.other)) for passage in source.passages]
        for source in report.sources
    ]
    values = {
        "exam_id": exam_id,
        "exam_title": title,
        "report": report,
        "sides": sides,
        "choices": choices,
        "examples": [letters(word) for word in report.folding.mixed_examples],
        "latest": {finding: report.decision(finding) for finding in choices},
        "finding_keys": FINDING_KEYS,
        "action_keys": ACTION_KEYS,
        "error": error,
        "note_sent": note,
        **common(user),
    }
    return render(request, "desk/material_report.html", values, status=status_code)


@router.get("/answers/{answer_id}/material", response_class=HTMLResponse)
def material_report(request: Request, answer_id: int, platform: PlatformDep, user: DeskUser) -> Response:
    """One answer's report: sources, shares, passages side by side with the differences marked, decisions."""
    return render_report(request, platform, user, answer_id)


@router.post("/answers/{answer_id}/material/decisions")
def material_decide(
    request: Request,
    answer_id: int,
    user: CsrfChecked,
    platform: PlatformDep,
    finding: Annotated[str, Form(max_length=32)],
    action: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Confirm or dismiss a finding (a new decision, in the ledger), then back to the report."""
    reviewer = Reviewer.of(user.person)
    material = platform.service.material
    with material.store.sessions() as db:
        _answer_exam(db, material, reviewer, answer_id)  # 404 before anything is judged
    try:
        if action not in ACTION_KEYS:
            raise InvalidInputError(f"an action is one of {', '.join(ACTION_KEYS)}")
        judge = Judge(reviewer.full_name, reviewer.user_id)
        MaterialDecisions(material).decide(reviewer.college_id, answer_id, finding, Action(action), judge, note)
    except StateError:
        return render_report(request, platform, user, answer_id, status_code=409, error=ERROR_KEYS[409], note=note)
    except InvalidInputError:
        return render_report(request, platform, user, answer_id, status_code=422, error=ERROR_KEYS[422], note=note)
    return RedirectResponse(f"/desk/answers/{answer_id}/material#decisions", status_code=status.HTTP_303_SEE_OTHER)
