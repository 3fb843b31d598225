"""An exam as the examiner sees it: its sessions ranked for review (the ones still to review first, then by
score), each with its band, event counts by type, where its score lies in the exam's distribution, and its
verdict; filters by status, band, event type and review state."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from proctor.events.vocabulary import SCORED, TECHNICAL, EventType
from proctor.policy import ReviewBands, policy_from_dict
from proctor.review.access import Reviewer, reviewer_exam
from proctor.sessions.faces import exam_face_matches
from proctor.sessions.lifecycle import Status
from proctor.sessions.tables import CandidateRow, DecisionRow, EventReviewRow, EventRow, IdDocumentRow, SessionRow

REVIEWABLE = frozenset({Status.ANALYSED.value, Status.REVIEWED.value})
"""Sessions whose analysis is done and that wait for a verdict."""
HISTOGRAM_BINS = 10


@dataclass(frozen=True)
class OverviewFilter:
    """Which sessions the exam page lists (None: any)."""

    status: str | None = None
    band: str | None = None
    event_type: str | None = None
    to_review: bool = False


@dataclass(frozen=True)
class SessionLine:
    """One session in its exam's list."""

    session_id: str
    candidate_name: str
    external_id: str
    status: str
    analysis: str
    score: float | None
    band: str | None
    lower_share: float | None
    """Share of the exam's scored sessions that score lower (where this one lies in the distribution)."""
    event_counts: dict[str, int]
    """Scored event types only, by type."""
    technical: int
    identity: str | None
    verdict: str | None
    reviewed_events: int
    shared_face: bool
    """A face of this session was seen in another candidate's session, or is another candidate's enrolled photo."""
    id_card_review: bool = False
    """The ID card was checked at the door and no check passed: the examiner looks at it (identity panel)."""

    @property
    def to_review(self) -> bool:
        return self.status in REVIEWABLE and self.verdict is None


@dataclass(frozen=True)
class ExamOverview:
    """The exam page's data."""

    exam_id: str
    title: str
    attestation: str
    created_at: datetime
    bands: ReviewBands
    lines: tuple[SessionLine, ...]
    """The sessions that pass the filter, in review order."""
    sessions: int
    """How many sessions the exam has (before the filter)."""
    to_review: int
    histogram: tuple[int, ...]
    """The exam's scored sessions per tenth of the score range (0–10, 10–20, … 90–100)."""
    type_totals: dict[str, int]
    band_totals: dict[str, int]


def _counts(db: Session, exam_id: str) -> dict[str, dict[str, int]]:
    """Events of each session's latest analysis, per session and type."""
    rows = db.execute(
        select(EventRow.session_id, EventRow.type, func.count(EventRow.id))
        .join(
            SessionRow,
            and_(SessionRow.id == EventRow.session_id, SessionRow.analysis_run == EventRow.analysis_run),
        )
        .where(SessionRow.exam_id == exam_id)
        .group_by(EventRow.session_id, EventRow.type)
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for session_id, event_type, count in rows:
        counts.setdefault(session_id, {})[event_type] = int(count)
    return counts


def _verdicts(db: Session, exam_id: str) -> dict[str, str]:
    latest = (
        select(func.max(DecisionRow.id))
        .join(SessionRow, SessionRow.id == DecisionRow.session_id)
        .where(SessionRow.exam_id == exam_id)
        .group_by(DecisionRow.session_id)
    )
    rows = db.execute(select(DecisionRow.session_id, DecisionRow.verdict).where(DecisionRow.id.in_(latest))).all()
    return {session_id: verdict for session_id, verdict in rows}


def _reviewed(db: Session, exam_id: str) -> dict[str, int]:
    rows = db.execute(
        select(EventReviewRow.session_id, func.count(func.distinct(EventReviewRow.event_seq)))
        .join(
            SessionRow,
            and_(SessionRow.id == EventReviewRow.session_id, SessionRow.analysis_run == EventReviewRow.analysis_run),
        )
        .where(SessionRow.exam_id == exam_id, EventReviewRow.action != "noted")
        .group_by(EventReviewRow.session_id)
    ).all()
    return {session_id: int(count) for session_id, count in rows}


def _passes(line: SessionLine, where: OverviewFilter) -> bool:
    return (
        (where.status is None or line.status == where.status)
        and (where.band is None or line.band == where.band)
        and (where.event_type is None or line.event_counts.get(where.event_type, 0) > 0)
        and (not where.to_review or line.to_review)
    )


def _id_cards_to_review(db: Session, exam_id: str) -> set[str]:
    """The exam's sessions whose ID card was checked and no check passed."""
    checked = db.execute(
        select(IdDocumentRow.session_id, IdDocumentRow.passed)
        .join(SessionRow, SessionRow.id == IdDocumentRow.session_id)
        .where(SessionRow.exam_id == exam_id)
    ).all()
    passed = {session_id for session_id, ok in checked if ok}
    return {session_id for session_id, _ in checked} - passed


def _review_order(line: SessionLine) -> tuple[bool, bool, float, str]:
    return (not line.to_review, line.score is None, -(line.score or 0.0), line.candidate_name)


def exam_overview(db: Session, reviewer: Reviewer, exam_id: str, where: OverviewFilter | None = None) -> ExamOverview:
    """The exam's sessions for review (NotFoundError unless the reviewer may see the exam)."""
    exam = reviewer_exam(db, reviewer, exam_id)
    bands = policy_from_dict(exam.policy).review
    rows = db.execute(
        select(SessionRow, CandidateRow)
        .join(CandidateRow, CandidateRow.id == SessionRow.candidate_id)
        .where(SessionRow.exam_id == exam_id)
    ).all()
    counts, verdicts, reviewed = _counts(db, exam_id), _verdicts(db, exam_id), _reviewed(db, exam_id)
    shared = {side for match in exam_face_matches(db, exam.college_id, exam_id) for side in match.session_ids()}
    cards = _id_cards_to_review(db, exam_id)
    scores = sorted(row.score for row, _ in rows if row.score is not None)
    scored_types = {t.value for t in SCORED}
    technical_types = {t.value for t in TECHNICAL}
    lines = []
    for row, candidate in rows:
        per_type = counts.get(row.id, {})
        lines.append(
            SessionLine(
                session_id=row.id,
                candidate_name=candidate.full_name,
                external_id=candidate.external_id,
                status=row.status,
                analysis=row.job_state,
                score=row.score,
                band=bands.band(row.score),
                lower_share=bisect.bisect_left(scores, row.score) / len(scores) if row.score is not None else None,
                event_counts={t: n for t, n in sorted(per_type.items()) if t in scored_types},
                technical=sum(n for t, n in per_type.items() if t in technical_types),
                identity=row.identity,
                verdict=verdicts.get(row.id),
                reviewed_events=reviewed.get(row.id, 0),
                shared_face=row.id in shared,
                id_card_review=row.id in cards,
            )
        )
    lines.sort(key=_review_order)
    histogram = [0] * HISTOGRAM_BINS
    for score in scores:
        histogram[min(HISTOGRAM_BINS - 1, int(score // (100 / HISTOGRAM_BINS)))] += 1
    type_totals: dict[str, int] = {}
    band_totals = {"green": 0, "yellow": 0, "red": 0}
    for line in lines:
        for event_type, count in line.event_counts.items():
            type_totals[event_type] = type_totals.get(event_type, 0) + count
        if line.band is not None:
            band_totals[line.band] += 1
    chosen = where or OverviewFilter()
    if chosen.event_type is not None and chosen.event_type not in {t.value for t in EventType}:
        chosen = OverviewFilter(chosen.status, chosen.band, None, chosen.to_review)
    return ExamOverview(
        exam_id=exam.id,
        title=exam.title,
        attestation=exam.attestation,
        created_at=exam.created_at,
        bands=bands,
        lines=tuple(line for line in lines if _passes(line, chosen)),
        sessions=len(lines),
        to_review=sum(1 for line in lines if line.to_review),
        histogram=tuple(histogram),
        type_totals=dict(sorted(type_totals.items(), key=lambda item: -item[1])),
        band_totals=band_totals,
    )
