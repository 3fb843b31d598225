"""New score weights for an exam: every analysed session is re-scored from its stored events (no re-analysis),
and the change — who, which weights, each session's new score — is a ledger record of its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, select

from proctor.errors import InputError
from proctor.events.event import Event, Measurement, Severity
from proctor.events.vocabulary import EventType
from proctor.policy import Policy, policy_from_dict
from proctor.review.access import Reviewer, require_admin, reviewer_exam
from proctor.score import Score, compute_score
from proctor.sessions.errors import InvalidInputError
from proctor.sessions.store import SessionStore
from proctor.sessions.tables import EventRow, ExamWeightingRow, SessionRow


@dataclass(frozen=True)
class Reweighted:
    """What a change of weights did."""

    exam_id: str
    sessions: int
    ledger_index: int


def event_of(row: EventRow) -> Event:
    """A stored event as the score sees it."""
    return Event(
        type=EventType(row.type),
        start_s=row.start_s,
        end_s=row.end_s,
        severity=Severity(row.severity),
        confidence=row.confidence,
        peak_s=row.peak_s,
        measurements=cast(dict[str, Measurement], row.measurements),
    )


def analysed_duration(report: dict[str, Any] | None) -> float:
    return float((report or {}).get("analysed_duration_s", 0.0))


def score_of(rows: list[EventRow], report: dict[str, Any] | None, policy: Policy) -> Score:
    """The score of a session's stored events under `policy`'s weights."""
    return compute_score((event_of(row) for row in rows), analysed_duration(report), policy.weights)


def reweight_exam(store: SessionStore, reviewer: Reviewer, exam_id: str, per_type: dict[str, float]) -> Reweighted:
    """Set the exam's weights (admins only) and re-score every analysed session in one transaction."""
    require_admin(reviewer, "change an exam's weights")
    with store.write() as db:
        exam = reviewer_exam(db, reviewer, exam_id)
        try:
            document = policy_from_dict(exam.policy).model_dump(mode="json")
            document["weights"]["per_type"] = {**document["weights"]["per_type"], **per_type}
            policy = policy_from_dict(document, source="weights")
        except InputError as exc:
            raise InvalidInputError(str(exc)) from exc
        exam.policy = policy.model_dump(mode="json")
        scores: dict[str, float] = {}
        sessions = db.scalars(select(SessionRow).where(SessionRow.exam_id == exam_id, SessionRow.score.is_not(None)))
        for row in sessions:
            events = list(
                db.scalars(
                    select(EventRow).where(EventRow.session_id == row.id, EventRow.analysis_run == row.analysis_run)
                )
            )
            score = score_of(events, row.report, policy)
            row.score = score.total
            row.report = {
                **(row.report or {}),
                "score": score.to_json(),
                "weights": policy.weights.model_dump(mode="json"),
            }
            scores[row.id] = round(score.total, 2)
        number = db.scalar(select(func.count(ExamWeightingRow.id)).where(ExamWeightingRow.exam_id == exam_id)) or 0
        weights = policy.weights.model_dump(mode="json")
        entry = store.ledger.append(
            db,
            "exam_weighting",
            f"{exam_id}/{number}",
            {"exam": exam_id, "weights": weights, "by": reviewer.user_id, "scores": dict(sorted(scores.items()))},
        )
        db.add(
            ExamWeightingRow(
                exam_id=exam_id,
                weights=weights,
                user_id=reviewer.user_id,
                sessions=len(scores),
                ledger_index=entry.index,
            )
        )
        return Reweighted(exam_id, len(scores), entry.index)
