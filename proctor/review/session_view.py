"""One session as the examiner reviews it: the events of its latest analysis (repeated ones grouped), the
timeline strip (misconduct by type, technical events on their own row, room scans and identity checks as
milestones), the score's per-type contributions, the identity panel, the decisions taken so far and the
verdicts' history. Built from a handful of indexed queries, so a 90-minute session with hundreds of events
answers fast."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proctor.events.vocabulary import INFORMATIONAL, TECHNICAL, EventType
from proctor.policy import ReviewBands, Weights, policy_from_dict
from proctor.review.access import Reviewer, reviewer_session
from proctor.review.rescore import analysed_duration
from proctor.sessions.faces import FaceMatch, session_face_matches
from proctor.sessions.tables import (
    CandidateRow,
    ChunkRow,
    DecisionRow,
    EventReviewRow,
    EventRow,
    RecordingRunRow,
    SessionRow,
    TransitionRow,
)

SCAN_TYPES = frozenset(
    {EventType.ROOM_SCAN_REQUESTED.value, EventType.ROOM_SCAN_COMPLETED.value, EventType.ROOM_SCAN_INCOMPLETE.value}
)
TECHNICAL_TYPES = frozenset(t.value for t in TECHNICAL)
INFORMATIONAL_TYPES = frozenset(t.value for t in INFORMATIONAL)


@dataclass(frozen=True)
class Review:
    """A decision on an event (the latest one counts; earlier ones are its history)."""

    action: str
    note: str
    examiner: str
    at: datetime
    ledger_index: int


@dataclass(frozen=True)
class EventItem:
    """An event of the session's latest analysis, with the decisions on it."""

    seq: int
    type: str
    start_s: float
    end_s: float
    severity: str
    confidence: float
    technical: bool
    peak_s: float
    measurements: dict[str, Any]
    has_evidence: bool
    open: bool
    reviews: tuple[Review, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def decision(self) -> str | None:
        """confirmed or dismissed (the latest such decision), None while undecided."""
        decided = [r.action for r in self.reviews if r.action != "noted"]
        return decided[-1] if decided else None

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(r.note for r in self.reviews if r.note)


@dataclass(frozen=True)
class EventGroup:
    """Consecutive events of one type, shown as one line that opens to its events."""

    type: str
    events: tuple[EventItem, ...]

    @property
    def start_s(self) -> float:
        return self.events[0].start_s

    @property
    def end_s(self) -> float:
        return max(e.end_s for e in self.events)


@dataclass(frozen=True)
class StripMark:
    seq: int
    start_s: float
    end_s: float
    severity: str


@dataclass(frozen=True)
class StripRow:
    """One row of the timeline strip: an event type (or every technical type together)."""

    key: str
    technical: bool
    marks: tuple[StripMark, ...]


@dataclass(frozen=True)
class Milestone:
    """A room scan or an identity check on the timeline; `ok` says whether it passed."""

    kind: str
    """room_scan or identity."""
    at_s: float
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    verdict: str
    examiner: str
    note: str
    at: datetime
    ledger_index: int
    signed_in: bool


@dataclass(frozen=True)
class SessionView:
    """Everything the session page shows."""

    session_id: str
    exam_id: str
    exam_title: str
    attestation: str
    candidate_id: str
    candidate_name: str
    external_id: str
    has_reference_photo: bool
    """The candidate has an enrolled reference photo (one who came through the LMS may have none yet)."""
    status: str
    analysis: str
    analysis_run: int
    live: bool
    identity: str | None
    recording_check: str | None
    """What the seal of a live session's kept recording found: verified, mismatch or unverified (None: not sealed)."""
    duration_s: float
    recorded_s: float
    has_screen: bool
    """The candidate's shared screen was recorded beside the camera (a second track to play)."""
    has_side: bool
    """The side camera (the phone beside the candidate) was recorded: it plays beside the camera."""
    score: float | None
    band: str | None
    bands: ReviewBands
    contributions: tuple[dict[str, Any], ...]
    weights: Weights
    events: tuple[EventItem, ...]
    groups: tuple[EventGroup, ...]
    strip: tuple[StripRow, ...]
    milestones: tuple[Milestone, ...]
    identity_checks: tuple[Milestone, ...]
    face_matches: tuple[FaceMatch, ...]
    """Faces of this session seen in another candidate's session of the exam, or in their enrolled photo."""
    verdicts: tuple[Verdict, ...]

    @property
    def to_review(self) -> int:
        return sum(1 for e in self.events if not e.technical and e.type not in INFORMATIONAL_TYPES and not e.decision)


def _reviews(db: Session, session_id: str, run: int) -> dict[int, tuple[Review, ...]]:
    found: dict[int, list[Review]] = {}
    rows = db.scalars(
        select(EventReviewRow)
        .where(EventReviewRow.session_id == session_id, EventReviewRow.analysis_run == run)
        .order_by(EventReviewRow.id)
    )
    for row in rows:
        found.setdefault(row.event_seq, []).append(
            Review(row.action, row.note, row.examiner, row.created_at, row.ledger_index)
        )
    return {seq: tuple(items) for seq, items in found.items()}


def _events(db: Session, row: SessionRow) -> tuple[EventItem, ...]:
    reviews = _reviews(db, row.id, row.analysis_run)
    rows = db.scalars(
        select(EventRow)
        .where(EventRow.session_id == row.id, EventRow.analysis_run == row.analysis_run)
        .order_by(EventRow.start_s, EventRow.seq)
    )
    return tuple(
        EventItem(
            seq=e.seq,
            type=e.type,
            start_s=e.start_s,
            end_s=e.end_s,
            severity=e.severity,
            confidence=e.confidence,
            technical=e.technical,
            peak_s=e.peak_s,
            measurements=dict(e.measurements),
            has_evidence=bool(e.evidence_key) and e.evidence_purged_at is None,
            open=e.state == "open",
            reviews=reviews.get(e.seq, ()),
        )
        for e in rows
    )


def group_events(events: tuple[EventItem, ...]) -> tuple[EventGroup, ...]:
    """Consecutive events of one type (in time order) as one group each."""
    groups: list[list[EventItem]] = []
    for event in events:
        if groups and groups[-1][0].type == event.type:
            groups[-1].append(event)
        else:
            groups.append([event])
    return tuple(EventGroup(items[0].type, tuple(items)) for items in groups)


def strip_rows(events: tuple[EventItem, ...], weights: Weights) -> tuple[StripRow, ...]:
    """Misconduct rows by type (heaviest weight first), then one row of every technical event."""
    by_type: dict[str, list[StripMark]] = {}
    technical: list[StripMark] = []
    for event in events:
        mark = StripMark(event.seq, event.start_s, event.end_s, event.severity)
        if event.type in TECHNICAL_TYPES:
            technical.append(mark)
        elif event.type not in INFORMATIONAL_TYPES and event.type in {t.value for t in EventType}:
            by_type.setdefault(event.type, []).append(mark)
    order = sorted(by_type, key=lambda t: (-weights.weight(EventType(t)), t))
    rows = [StripRow(t, False, tuple(by_type[t])) for t in order]
    rows.append(StripRow("technical", True, tuple(technical)))
    return tuple(rows)


def _milestones(db: Session, row: SessionRow, events: tuple[EventItem, ...]) -> tuple[Milestone, ...]:
    """Room scans (from the events of an uploaded recording, or a live session's recorded results) and the
    live identity check's outcome."""
    found: list[Milestone] = []
    for event in events:
        if event.type in (EventType.ROOM_SCAN_COMPLETED.value, EventType.ROOM_SCAN_INCOMPLETE.value):
            found.append(
                Milestone(
                    "room_scan",
                    event.start_s,
                    event.type == EventType.ROOM_SCAN_COMPLETED.value,
                    {"seq": event.seq, "coverage_deg": event.measurements.get("coverage_deg")},
                )
            )
    transitions = db.scalars(
        select(TransitionRow).where(TransitionRow.session_id == row.id).order_by(TransitionRow.id)
    ).all()
    for transition in transitions:
        detail: dict[str, Any] = dict(transition.detail or {})
        scan = detail.get("room_scan")
        if isinstance(scan, dict) and not any(m.kind == "room_scan" for m in found):
            at = scan.get("completed_at_s") or scan.get("started_s") or transition.at_s or 0.0
            found.append(Milestone("room_scan", float(at), bool(scan.get("complete")), dict(scan)))
        outcome = detail.get("identity")
        if isinstance(outcome, str):
            at = detail.get("at_s", transition.at_s) or 0.0
            found.append(Milestone("identity", float(at), outcome == "verified", dict(detail)))
    return tuple(sorted(found, key=lambda m: m.at_s))


def _identity_checks(report: dict[str, Any] | None) -> tuple[Milestone, ...]:
    """Every identity check of the analysis (its time, distance and outcome), as the report keeps them."""
    checks = (report or {}).get("identity_checks") or []
    return tuple(
        Milestone("identity", float(c["at_s"]), bool(c["match"]), {"distance": c.get("distance")})
        for c in checks
        if isinstance(c, dict) and "at_s" in c and "match" in c
    )


def _verdicts(db: Session, session_id: str) -> tuple[Verdict, ...]:
    rows = db.scalars(select(DecisionRow).where(DecisionRow.session_id == session_id).order_by(DecisionRow.id))
    return tuple(
        Verdict(r.verdict, r.examiner, r.note, r.created_at, r.ledger_index, r.user_id is not None) for r in rows
    )


def session_view(db: Session, reviewer: Reviewer, session_id: str) -> SessionView:
    """The session page's data (NotFoundError unless the reviewer may see the session's exam)."""
    seen = reviewer_session(db, reviewer, session_id)
    row, exam = seen.session, seen.exam
    candidate = db.get(CandidateRow, row.candidate_id)
    policy = policy_from_dict(exam.policy)
    events = _events(db, row)
    recorded = float(
        db.scalar(select(func.max(ChunkRow.start_s + ChunkRow.duration_s)).where(ChunkRow.session_id == row.id)) or 0.0
    )
    ends = [e.end_s for e in events]
    duration = max([analysed_duration(row.report), recorded, row.live_last_s or 0.0, *ends, 1.0])
    report: dict[str, Any] = dict(row.report or {})
    score_report: dict[str, Any] = report.get("score") or {}
    return SessionView(
        session_id=row.id,
        exam_id=exam.id,
        exam_title=exam.title,
        attestation=exam.attestation,
        candidate_id=row.candidate_id,
        candidate_name=candidate.full_name if candidate else "",
        external_id=candidate.external_id if candidate else "",
        has_reference_photo=candidate is not None and candidate.photo_key is not None,
        status=row.status,
        analysis=row.job_state,
        analysis_run=row.analysis_run,
        live=row.live_started_at is not None,
        identity=row.identity,
        recording_check=row.recording_check,
        duration_s=duration,
        recorded_s=recorded,
        has_screen=db.scalar(
            select(RecordingRunRow.id).where(RecordingRunRow.session_id == row.id, RecordingRunRow.track == "screen")
        )
        is not None,
        has_side=db.scalar(
            select(RecordingRunRow.id).where(RecordingRunRow.session_id == row.id, RecordingRunRow.track == "side")
        )
        is not None,
        score=row.score,
        band=policy.review.band(row.score),
        bands=policy.review,
        contributions=tuple(score_report.get("contributions", ())),
        weights=policy.weights,
        events=events,
        groups=group_events(events),
        strip=strip_rows(events, policy.weights),
        milestones=_milestones(db, row, events),
        identity_checks=_identity_checks(row.report),
        face_matches=tuple(session_face_matches(db, exam.college_id, row.id)),
        verdicts=_verdicts(db, row.id),
    )
