"""College API: foreign material in written answers (order 187 of 2026) — answers of an exam (text, a .txt/.docx/
.pdf file, or imported from the LRS), the college's reference sources, the report of an answer (JSON or CSV, the
matched passages side by side) and the examiner's decision on a finding (ledger; the learner's footprint when
confirmed). A key with the `sessions` scope; every text stays within its college."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from proctor.material.decisions import Action, Judge, MaterialDecisions
from proctor.material.files import MAX_FILE_BYTES, MAX_TEXT_CHARS, bounded, read_text
from proctor.material.lrs import import_responses
from proctor.material.report import Decision, Report, TextInfo, report_csv
from proctor.material.service import MaterialService, NewText
from proctor.sessions.listing import MAX_PAGE
from web.auth import SessionsKey
from web.platform import PlatformDep
from web.routes.college.models import Page
from web.routes.college.uploads import form_file
from web.urls import public_url

router = APIRouter(tags=["material"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, description="Items to skip.")]
PRIVATE = {"Cache-Control": "private, no-store"}


class AnswerCreate(BaseModel):
    """A learner's written answer to the exam (or assignment)."""

    model_config = ConfigDict(extra="forbid")

    learner_id: str = Field(min_length=1, max_length=128, description="The learner's id at the college (or the LMS).")
    learner_name: str | None = Field(None, max_length=300)
    title: str = Field("", max_length=300, description="The question or assignment it answers.")
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


class SourceCreate(BaseModel):
    """A reference source of the college: a textbook chapter, an earlier year's answers, a model answer."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


class TextPublic(BaseModel):
    """A stored text (its content is not repeated here)."""

    id: int
    kind: Literal["answer", "source"]
    exam_id: str | None
    learner_id: str | None
    learner_name: str | None
    title: str
    origin: Literal["api", "file", "lrs"]
    language: str = Field(description="kk, ru, or empty when the text has too few letters to tell.")
    words: int
    sha256: str
    created_at: datetime
    report_url: str | None = Field(description="The answer's report (answers only).")


class PiecePublic(BaseModel):
    start: int = Field(description="Offset in the excerpt.")
    end: int
    kind: Literal["equal", "changed", "only"] = Field(
        description="equal on both sides, changed (replaced words), or only on this side (added or left out)."
    )


class SidePublic(BaseModel):
    start: int = Field(description="Offset of the passage in its whole text (characters).")
    end: int
    excerpt: str = Field(description="The passage with a little of its context.")
    excerpt_start: int = Field(description="Offset of the excerpt in the whole text.")
    pieces: list[PiecePublic]


class PassagePublic(BaseModel):
    answer: SidePublic
    source: SidePublic
    words: int = Field(description="Words of the answer the passage spans.")
    matched: int = Field(description="Of them, words that match the source.")


class SourcePublic(BaseModel):
    text: TextPublic
    share: float = Field(description="Share of the answer's words inside passages matched in this text.")
    estimate: float = Field(description="MinHash estimate of the two texts' similarity (Jaccard of word pairs).")
    passages: list[PassagePublic]


class FoldingPublic(BaseModel):
    mixed_words: int = Field(description="Words mixing Latin and Cyrillic letters (look-alikes folded).")
    mixed_examples: list[str]
    invisible: int = Field(description="Invisible characters inside words (zero-width, soft hyphens).")
    compatibility: int = Field(description="Words NFKC changed (full-width letters, ligatures).")
    latin_kazakh_words: int = Field(description="Words in the Kazakh Latin alphabet.")


class DecisionPublic(BaseModel):
    finding: str
    action: Literal["confirmed", "dismissed"]
    share: float
    note: str
    examiner: str
    ledger_index: int = Field(description="The decision's record in the ledger (its proof: /ledger/proof/...).")
    statement_id: str | None = Field(description="The xAPI statement a confirmation put into the learner's footprint.")
    created_at: datetime


class ReportPublic(BaseModel):
    """The foreign-material report of one answer."""

    answer: TextPublic
    share: float = Field(description="Share of the answer's words inside matched passages of any listed source.")
    answer_share_from: float = Field(description="The exam policy's threshold for a `copy` finding.")
    findings: list[Literal["copy", "mixed_alphabets"]]
    folding: FoldingPublic
    compared_with: int = Field(description="Texts of the college the answer was compared with.")
    sources: list[SourcePublic]
    decisions: list[DecisionPublic]


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    finding: Literal["copy", "mixed_alphabets"]
    action: Literal["confirmed", "dismissed"]
    examiner: str = Field(min_length=1, max_length=300, description="Who decided (as the ledger names them).")
    note: str = Field("", max_length=5000)


class LrsImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    activity_id: str = Field(
        min_length=1, max_length=2000, description="The LMS activity (quiz, assignment or question) IRI."
    )
    related: bool = Field(
        True, description="Also statements naming the activity in their context (a quiz's questions)."
    )


class LrsImported(BaseModel):
    read: int
    imported: list[int]
    already: int = Field(description="Statements imported before (each statement is imported once).")
    skipped: int = Field(description="Statements without a written response or a learner account.")


def _text(request: Request, info: TextInfo) -> TextPublic:
    url = str(request.url_for("material_report", answer_id=info.id)) if info.kind == "answer" else None
    return TextPublic(
        id=info.id,
        kind=info.kind,
        exam_id=info.exam_id,
        learner_id=info.learner_id,
        learner_name=info.learner_name,
        title=info.title,
        origin=info.origin,
        language=info.language,
        words=info.words,
        sha256=info.sha256,
        created_at=info.created_at,
        report_url=url,
    )


def _decision(decision: Decision) -> DecisionPublic:
    return DecisionPublic.model_validate(decision, from_attributes=True)


def report_public(request: Request, report: Report) -> ReportPublic:
    return ReportPublic(
        answer=_text(request, report.answer),
        share=report.share,
        answer_share_from=report.answer_share_from,
        findings=list(report.findings),
        folding=FoldingPublic.model_validate(report.folding, from_attributes=True),
        compared_with=report.compared_with,
        sources=[
            SourcePublic(
                text=_text(request, source.text),
                share=source.share,
                estimate=source.estimate,
                passages=[
                    PassagePublic(
                        answer=SidePublic.model_validate(passage.answer, from_attributes=True),
                        source=SidePublic.model_validate(passage.other, from_attributes=True),
                        words=passage.words,
                        matched=passage.matched,
                    )
                    for passage in source.passages
                ],
            )
            for source in report.sources
        ],
        decisions=[_decision(decision) for decision in report.decisions],
    )


def _page(request: Request, items: list[TextInfo], total: int, limit: int, offset: int) -> Page[TextPublic]:
    following = public_url(request, offset=offset + limit) if offset + limit < total else None
    return Page[TextPublic](
        items=[_text(request, info) for info in items], total=total, limit=limit, offset=offset, next=following
    )


@router.post("/exams/{exam_id}/answers", status_code=status.HTTP_201_CREATED, response_model=TextPublic)
def add_answer(
    exam_id: str, body: AnswerCreate, request: Request, credential: SessionsKey, platform: PlatformDep
) -> TextPublic:
    """Store a learner's written answer (text); it is compared with the exam's other answers and the college's
    corpus when its report is asked for."""
    new = NewText("answer", body.title, bounded(body.text), "api", exam_id, body.learner_id.strip(), body.learner_name)
    return _text(request, platform.service.material.add(credential.college_id, new))


async def _upload(request: Request) -> tuple[str, bytes, dict[str, str]]:
    async with form_file(request, "file", MAX_FILE_BYTES) as form:
        data = await form.file.read(MAX_FILE_BYTES + 1)
        return form.file.filename or "", data, form.fields


def _stored_file(material: MaterialService, college_id: str, name: str, data: bytes, new: NewText) -> TextInfo:
    text = read_text(name, data)
    return material.add(
        college_id, NewText(new.kind, new.title or name, text, "file", new.exam_id, new.learner_id, new.learner_name)
    )


@router.post(
    "/exams/{exam_id}/answers/file",
    status_code=status.HTTP_201_CREATED,
    response_model=TextPublic,
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file", "learner_id"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "learner_id": {"type": "string"},
                            "learner_name": {"type": "string"},
                            "title": {"type": "string"},
                        },
                    }
                }
            }
        }
    },
)
async def add_answer_file(exam_id: str, request: Request, credential: SessionsKey, platform: PlatformDep) -> TextPublic:
    """Store a learner's answer from a file (multipart `file`: .txt, .docx or .pdf, with `learner_id`, optional
    `learner_name` and `title`)."""
    name, data, fields = await _upload(request)
    learner = fields.get("learner_id", "").strip()[:128]
    if not learner:
        raise HTTPException(422, "the form needs a learner_id")
    new = NewText(
        "answer", fields.get("title", "")[:300], "", "file", exam_id, learner, fields.get("learner_name") or None
    )
    info = await run_in_threadpool(_stored_file, platform.service.material, credential.college_id, name, data, new)
    return _text(request, info)


@router.get("/exams/{exam_id}/answers", response_model=Page[TextPublic])
def list_answers(
    exam_id: str,
    request: Request,
    credential: SessionsKey,
    platform: PlatformDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[TextPublic]:
    """The exam's stored answers, oldest first, each with the URL of its report."""
    items, total = platform.service.material.texts(
        credential.college_id, kind="answer", exam_id=exam_id, limit=limit, offset=offset
    )
    return _page(request, items, total, limit, offset)


@router.post("/material/sources", status_code=status.HTTP_201_CREATED, response_model=TextPublic)
def add_source(body: SourceCreate, request: Request, credential: SessionsKey, platform: PlatformDep) -> TextPublic:
    """Store a reference source of the college (text): every answer of the college is compared with it."""
    new = NewText("source", body.title, bounded(body.text))
    return _text(request, platform.service.material.add(credential.college_id, new))


@router.post(
    "/material/sources/file",
    status_code=status.HTTP_201_CREATED,
    response_model=TextPublic,
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}, "title": {"type": "string"}},
                    }
                }
            }
        }
    },
)
async def add_source_file(request: Request, credential: SessionsKey, platform: PlatformDep) -> TextPublic:
    """Store a reference source from a file (multipart `file`: .txt, .docx or .pdf, optional `title`)."""
    name, data, fields = await _upload(request)
    new = NewText("source", fields.get("title", "")[:300], "", "file")
    info = await run_in_threadpool(_stored_file, platform.service.material, credential.college_id, name, data, new)
    return _text(request, info)


@router.get("/material/sources", response_model=Page[TextPublic])
def list_sources(
    request: Request, credential: SessionsKey, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0
) -> Page[TextPublic]:
    """The college's reference sources, oldest first."""
    items, total = platform.service.material.texts(credential.college_id, kind="source", limit=limit, offset=offset)
    return _page(request, items, total, limit, offset)


@router.get("/answers/{answer_id}/material", response_model=ReportPublic, name="material_report")
def get_report(answer_id: int, request: Request, credential: SessionsKey, platform: PlatformDep) -> ReportPublic:
    """The answer's report: its share in matched passages, its findings (`copy`, `mixed_alphabets`), each matched
    answer or source with the passages side by side (differences marked), and the decisions so far."""
    report, _, _ = platform.service.material.report(credential.college_id, answer_id)
    return report_public(request, report)


@router.get("/answers/{answer_id}/material.csv", response_class=Response)
def get_report_csv(answer_id: int, credential: SessionsKey, platform: PlatformDep) -> Response:
    """The answer's report as CSV: one row per matched passage, with both passages' text."""
    report, text, others = platform.service.material.report(credential.college_id, answer_id)
    headers = {**PRIVATE, "Content-Disposition": f'attachment; filename="answer-{answer_id}-material.csv"'}
    return Response(report_csv(report, text, others), media_type="text/csv; charset=utf-8", headers=headers)


@router.post(
    "/answers/{answer_id}/material/decisions",
    status_code=status.HTTP_201_CREATED,
    response_model=DecisionPublic,
    responses={409: {"description": "The report does not show this finding now."}},
)
def decide(answer_id: int, body: DecisionCreate, credential: SessionsKey, platform: PlatformDep) -> DecisionPublic:
    """Confirm or dismiss a finding (a new decision each time, recorded in the ledger); a confirmation becomes an
    xAPI statement in the learner's footprint."""
    decisions = MaterialDecisions(platform.service.material)
    decision = decisions.decide(
        credential.college_id, answer_id, body.finding, Action(body.action), Judge(body.examiner), body.note
    )
    return _decision(decision)


@router.post("/exams/{exam_id}/answers/lrs-import", response_model=LrsImported)
def import_from_lrs(exam_id: str, body: LrsImport, credential: SessionsKey, platform: PlatformDep) -> LrsImported:
    """Import the written responses (`result.response`, e.g. Moodle essays) of the college's LRS statements about an
    activity as answers of the exam; each statement once."""
    done = import_responses(
        platform.service.material, credential.college_id, exam_id, body.activity_id, related=body.related
    )
    return LrsImported(read=done.read, imported=done.imported, already=done.already, skipped=done.skipped)
