"""Request and response bodies of the college API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, field_validator

from footprint.store.times import as_utc

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def plain_text(value: str) -> str:
    """A one-line text (a name, a title): control characters are refused, NUL above all."""
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters (U+0000–U+001F, U+007F–U+009F)")
    return value


def multiline_text(value: str) -> str:
    """A free text (a note): line breaks and tabs are fine, other control characters are refused."""
    if _CONTROL_BUT_LINES.search(value):
        raise ValueError("must not contain control characters other than line breaks and tabs")
    return value


PlainText = Annotated[str, AfterValidator(plain_text)]
MultilineText = Annotated[str, AfterValidator(multiline_text)]
UTCTime = Annotated[datetime, AfterValidator(as_utc)]


class ExamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: PlainText = Field(min_length=1, max_length=300, description="Exam title shown to candidates and examiners.")
    attestation: Literal["interim", "final"] = Field(description="Interim or final attestation (the policy preset).")
    policy: dict[str, Any] | None = Field(None, description="Overrides of the preset's policy (see the README).")
    opens_at: datetime | None = None
    closes_at: datetime | None = Field(None, description="After this, the candidates' links no longer open.")
    duration_min: int | None = Field(
        None, ge=1, le=1440, description="Planned length of the exam; in-exam room scans are drawn within it."
    )
    content_url: HttpUrl | None = Field(
        None, description="Where the exam's questions are (the LMS quiz); the candidate's page shows it."
    )


class ExamPublic(BaseModel):
    id: str
    title: str
    attestation: str
    policy: dict[str, Any]
    opens_at: UTCTime | None
    closes_at: UTCTime | None
    duration_min: int | None
    content_url: str | None
    gated: bool = Field(
        description="The exam's LMS quiz has a password the platform keeps (`PUT /exams/{id}/gate`): the candidate's "
        "page shows it only inside a proctored session in progress. The password itself is never in any answer."
    )
    created_at: UTCTime


class GateSet(BaseModel):
    """The LMS quiz's password (as the teacher set it in the quiz's settings)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    password: str = Field(
        min_length=1,
        max_length=100,
        description="1–100 printable characters; kept encrypted, never shown in an answer or a log.",
    )

    @field_validator("password")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("must be printable characters (no line breaks or control characters)")
        return value


class CandidatePublic(BaseModel):
    id: str
    exam_id: str
    external_id: str
    full_name: str
    created_at: UTCTime
    reference_photo: bool = Field(description="Whether the college sent a reference photo (identity is checked).")
    withdrawn: bool = Field(description="The LMS course roster no longer lists the candidate (LTI).")


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidate_id: PlainText = Field(min_length=1, max_length=64)


class SessionCreated(BaseModel):
    id: str
    exam_id: str
    candidate_id: str
    status: str
    join_url: str = Field(description="The candidate's one-time link (shown once; only its hash is kept).")


class Contribution(BaseModel):
    type: str
    events: int
    seconds: float
    share: float
    weight: float
    points: float


class DecisionPublic(BaseModel):
    verdict: str
    examiner: str
    note: str
    created_at: UTCTime


Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list: `next` is the URL of the following page, or null on the last one."""

    items: list[Item]
    total: int = Field(description="How many items the whole (filtered) list holds.")
    limit: int
    offset: int
    next: str | None


class SessionSummary(BaseModel):
    """A session in an exam's list."""

    id: str
    candidate_id: str
    status: str
    analysis: str
    score: float | None
    created_at: UTCTime
    analysed_at: UTCTime | None


class SessionPublic(BaseModel):
    id: str
    exam_id: str
    candidate_id: str
    status: str
    analysis: str = Field(description="none, queued, running, done or failed")
    analysis_progress: float | None = Field(
        description="Share of the recording analysed so far (0–1) while queued or running; 1 when done."
    )
    analysis_eta_s: float | None = Field(description="Estimated seconds until a running analysis is done.")
    analysis_error: str | None
    score: float | None
    contributions: list[Contribution]
    event_counts: dict[str, int]
    verdict: DecisionPublic | None
    recording_chunks: int
    recording_seconds: float
    live_started_at: UTCTime | None = Field(
        None, description="When a live session's media began: session time 0 of its events."
    )
    identity: str | None = Field(
        None,
        description="The live identity check: verified, unverified (after the retries) or not_checked; "
        "not_checked also for an upload analysed when the candidate had no reference photo.",
    )
    consent: str | None = Field(
        None, description="The candidate's answer to the proctoring terms on the exam page: accepted or declined."
    )
    recording_sealed_at: UTCTime | None = Field(
        None, description="When a live session's own recording was sealed: no part is taken since."
    )
    recording_check: str | None = Field(
        None,
        description="What the seal found: verified (the kept recording shows what the live analysis saw), mismatch "
        "(see the recording_mismatch events) or unverified (nothing could be compared).",
    )


class EventPublic(BaseModel):
    """The same fields as a line of `events.jsonl`, with an authorised evidence URL."""

    seq: int
    type: str
    start_s: float
    end_s: float
    duration_s: float
    severity: str
    confidence: float
    technical: bool
    peak_s: float
    measurements: dict[str, Any]
    evidence_url: str | None
    open: bool = Field(False, description="A live event still happening: its end is the latest seen so far.")
    opened_at: UTCTime | None = Field(None, description="When a live event was stored as it opened.")
    detected_s: float | None = Field(
        None, description="Session time of the media that opened a live event (its persistence window met)."
    )


class ReanalysisQueued(BaseModel):
    """What a bulk re-analysis queued."""

    exam_id: str
    queued: list[str] = Field(description="Sessions whose recording is analysed again (a new analysis run each).")
    skipped: int = Field(description="Sessions left out: not analysed yet, judged, live, or without a kept upload.")


class VerdictCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["confirmed", "annulled", "retake"]
    examiner: PlainText = Field(min_length=1, max_length=200)
    note: MultilineText = Field("", max_length=5000)


class WebhookSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl


class WebhookPublic(BaseModel):
    url: str
    secret: str = Field(description="HMAC-SHA256 key of the X-Proctor-Signature header.")
