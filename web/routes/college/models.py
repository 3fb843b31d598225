"""Request and response bodies of the college API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl


class ExamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300, description="Exam title shown to candidates and examiners.")
    attestation: Literal["interim", "final"] = Field(description="Interim or final attestation (the policy preset).")
    policy: dict[str, Any] | None = Field(None, description="Overrides of the preset's policy (see the README).")
    opens_at: datetime | None = None
    closes_at: datetime | None = None


class ExamPublic(BaseModel):
    id: str
    title: str
    attestation: str
    policy: dict[str, Any]
    opens_at: datetime | None
    closes_at: datetime | None
    created_at: datetime


class CandidatePublic(BaseModel):
    id: str
    exam_id: str
    external_id: str
    full_name: str
    created_at: datetime


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidate_id: str = Field(min_length=1, max_length=64)


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
    created_at: datetime


class SessionPublic(BaseModel):
    id: str
    exam_id: str
    candidate_id: str
    status: str
    analysis: str = Field(description="none, queued, running, done or failed")
    analysis_error: str | None
    score: float | None
    contributions: list[Contribution]
    event_counts: dict[str, int]
    verdict: DecisionPublic | None
    recording_chunks: int
    recording_seconds: float


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


class VerdictCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["confirmed", "annulled", "retake"]
    examiner: str = Field(min_length=1, max_length=200)
    note: str = Field("", max_length=5000)


class WebhookSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl


class WebhookPublic(BaseModel):
    url: str
    secret: str = Field(description="HMAC-SHA256 key of the X-Proctor-Signature header.")
