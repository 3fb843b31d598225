"""xAPI statements that put proctoring results into the learner's footprint.

An analysed session becomes `attempted` (the candidate sat the proctored exam, with the suspicion
score and event counts in a result extension); a verdict becomes `completed` with success true/false.
The ledger then proves what the proctoring system reported and when.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from proctor.sessions.errors import NotFoundError
from proctor.sessions.tables import CandidateRow, ExamRow, SessionRow

ATTEMPTED = {"id": "http://adlnet.gov/expapi/verbs/attempted", "display": {"en-US": "attempted"}}
COMPLETED = {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}}
PROCTORING_RESULT = "https://proctor-kz.org/xapi/extensions/proctoring-result"
PROCTORED_EXAM = "https://proctor-kz.org/xapi/activities/proctored-exam"
FLAG_REVIEWED = {"id": "https://proctor-kz.org/xapi/verbs/flag-reviewed", "display": {"en-US": "flag reviewed"}}
"""An examiner's decision on one flagged event of the learner's session (result.success: the flag stands)."""
PROCTORING_EVENT = "https://proctor-kz.org/xapi/activities/proctoring-event"
NAMESPACE = uuid.UUID("8f3c7c1e-5a4b-4f0e-9d7a-2b1c3d4e5f60")


@dataclass(frozen=True)
class SessionFacts:
    """What the statement says about one exam session."""

    platform_url: str
    college_id: str
    exam_id: str
    exam_title: str
    attestation: str
    session_id: str
    candidate_external_id: str
    candidate_name: str
    id_key: bytes = field(default=b"", repr=False)
    """The platform's secret for statement ids: nobody else can predict them, so nobody can take one first."""


def session_facts(db: Session, row: SessionRow, platform_url: str, id_key: bytes = b"") -> SessionFacts:
    """What the footprint statements say about a session, read in the caller's transaction."""
    exam = db.get(ExamRow, row.exam_id)
    candidate = db.get(CandidateRow, row.candidate_id)
    if exam is None or candidate is None:
        raise NotFoundError(f"exam or candidate of session {row.id} is gone")
    return SessionFacts(
        platform_url=platform_url,
        college_id=exam.college_id,
        exam_id=exam.id,
        exam_title=exam.title,
        attestation=exam.attestation,
        session_id=row.id,
        candidate_external_id=candidate.external_id,
        candidate_name=candidate.full_name,
        id_key=id_key,
    )


def _actor(facts: SessionFacts) -> dict[str, Any]:
    return {
        "objectType": "Agent",
        "name": facts.candidate_name,
        "account": {
            "homePage": f"{facts.platform_url}/colleges/{facts.college_id}",
            "name": facts.candidate_external_id,
        },
    }


def _object(facts: SessionFacts) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": f"{facts.platform_url}/exams/{facts.exam_id}",
        "definition": {
            "type": PROCTORED_EXAM,
            "name": {"en-US": facts.exam_title},
            "extensions": {f"{PROCTORED_EXAM}/attestation": facts.attestation},
        },
    }


def _statement_id(facts: SessionFacts, kind: str, revision: int) -> str:
    """Deterministic ids, so re-sending the same fact is idempotent in the LRS, never a duplicate; keyed with the
    platform's secret, so a college's LMS key cannot store a statement under one of them before the platform does
    (and so have the platform's own result taken for a repeat)."""
    name = f"{facts.session_id}/{kind}/{revision}"
    if facts.id_key:
        name = hmac.new(facts.id_key, name.encode(), hashlib.sha256).hexdigest()
    return str(uuid.uuid5(NAMESPACE, name))


def analysed_statement(
    facts: SessionFacts,
    score: float,
    event_counts: Mapping[str, int],
    duration_s: float,
    at: datetime | None = None,
    *,
    run: int = 1,
) -> dict[str, Any]:
    """The `attempted` statement of an analysed session's analysis run `run` (each run its own statement)."""
    return {
        "id": _statement_id(facts, "analysed", run - 1),
        "actor": _actor(facts),
        "verb": ATTEMPTED,
        "object": _object(facts),
        "result": {
            "duration": f"PT{duration_s:.1f}S",
            "extensions": {
                PROCTORING_RESULT: {
                    "suspicion_score": round(score, 2),
                    "event_counts": dict(sorted(event_counts.items())),
                    "session": facts.session_id,
                }
            },
        },
        "context": {"registration": facts.session_id, "platform": "proctor-kz"},
        "timestamp": (at or datetime.now(UTC)).isoformat(),
    }


@dataclass(frozen=True)
class Examiner:
    """A signed-in examiner as the footprint names them: an account of the platform's college."""

    user_id: str
    full_name: str


def _instructor(facts: SessionFacts, examiner: Examiner) -> dict[str, Any]:
    return {
        "objectType": "Agent",
        "name": examiner.full_name,
        "account": {"homePage": f"{facts.platform_url}/colleges/{facts.college_id}/people", "name": examiner.user_id},
    }


def verdict_statement(
    facts: SessionFacts,
    verdict: str,
    examiner: str,
    revision: int,
    at: datetime | None = None,
    *,
    signed_in: Examiner | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """The `completed` statement of an examiner's verdict (confirmed, annulled or retake); a signed-in examiner is
    the statement's instructor, as Moodle names the grader of a submission."""
    context: dict[str, Any] = {"registration": facts.session_id, "platform": "proctor-kz"}
    if signed_in is not None:
        context["instructor"] = _instructor(facts, signed_in)
    outcome: dict[str, Any] = {"verdict": verdict, "examiner": examiner, "session": facts.session_id}
    if reason:
        outcome["reason"] = reason
    return {
        "id": _statement_id(facts, "verdict", revision),
        "actor": _actor(facts),
        "verb": COMPLETED,
        "object": _object(facts),
        "result": {
            "success": verdict == "confirmed",
            "completion": True,
            "extensions": {PROCTORING_RESULT: outcome},
        },
        "context": context,
        "timestamp": (at or datetime.now(UTC)).isoformat(),
    }


@dataclass(frozen=True)
class FlagReview:
    """An examiner's decision on one event of a session's analysis run."""

    run: int
    seq: int
    event_type: str
    start_s: float
    action: str
    """confirmed, dismissed or noted."""
    note: str
    number: int
    """The session's how-manieth review decision (0, 1, …): the statement's id follows from it."""


def flag_review_statement(
    facts: SessionFacts, review: FlagReview, examiner: Examiner, at: datetime | None = None
) -> dict[str, Any]:
    """The `flag reviewed` statement: the learner's flagged event, and what the examiner (instructor) decided."""
    result: dict[str, Any] = {
        "extensions": {
            PROCTORING_RESULT: {
                "session": facts.session_id,
                "run": review.run,
                "event": review.seq,
                "type": review.event_type,
                "action": review.action,
            }
        }
    }
    if review.action != "noted":
        result["success"] = review.action == "confirmed"
    if review.note:
        result["response"] = review.note
    return {
        "id": _statement_id(facts, "flag-review", review.number),
        "actor": _actor(facts),
        "verb": FLAG_REVIEWED,
        "object": {
            "objectType": "Activity",
            "id": f"{facts.platform_url}/sessions/{facts.session_id}/runs/{review.run}/events/{review.seq}",
            "definition": {
                "type": PROCTORING_EVENT,
                "name": {"en-US": f"{review.event_type} at {review.start_s:.1f} s"},
            },
        },
        "result": result,
        "context": {
            "registration": facts.session_id,
            "platform": "proctor-kz",
            "instructor": _instructor(facts, examiner),
            "contextActivities": {"parent": [_object(facts)]},
        },
        "timestamp": (at or datetime.now(UTC)).isoformat(),
    }
