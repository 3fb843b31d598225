"""An examiner's decisions: confirm or dismiss a flagged event, note something on it, and the verdict on the
session. Every decision is a new row (nothing is edited: a change of mind is a new decision with its reason),
appended to the ledger with the examiner's identity and stored as an xAPI statement in the learner's footprint,
all in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proctor.review.access import Reviewer, reviewer_session
from proctor.sessions.errors import InvalidInputError, NotFoundError
from proctor.sessions.lifecycle import Status
from proctor.sessions.service import SessionService
from proctor.sessions.statements import Examiner, FlagReview, flag_review_statement
from proctor.sessions.tables import DecisionRow, EventReviewRow, EventRow, SessionRow, TransitionRow

MAX_NOTE = 5000


class ReviewAction(StrEnum):
    CONFIRMED = "confirmed"
    """The flag stands: the examiner saw what it says."""
    DISMISSED = "dismissed"
    """The flag does not stand (a false alarm, or allowed)."""
    NOTED = "noted"
    """A note on the event, without a decision."""


@dataclass(frozen=True)
class ReviewRecorded:
    """A stored review decision and where the ledger keeps it."""

    id: int
    session_id: str
    event_seq: int
    action: ReviewAction
    note: str
    ledger_index: int


def examiner_of(reviewer: Reviewer) -> Examiner:
    return Examiner(reviewer.user_id, reviewer.full_name)


def _check_note(note: str, required: bool) -> str:
    text = note.strip()
    if len(text) > MAX_NOTE:
        raise InvalidInputError(f"a note has at most {MAX_NOTE} characters")
    if required and not text:
        raise InvalidInputError("a note needs some text")
    return text


class Decisions:
    """Records reviewers' decisions through the session service's store and ledger."""

    def __init__(self, service: SessionService) -> None:
        self.service = service
        self.store = service.store

    def review_event(
        self, reviewer: Reviewer, session_id: str, seq: int, action: ReviewAction, note: str = ""
    ) -> ReviewRecorded:
        """Confirm, dismiss or note one event of the session's latest analysis."""
        text = _check_note(note, required=action == ReviewAction.NOTED)
        with self.store.write() as db:
            seen = reviewer_session(db, reviewer, session_id)
            row = seen.session
            db.refresh(row, with_for_update=True)  # one decision of a session at a time: they are numbered
            event = db.scalars(
                select(EventRow).where(
                    EventRow.session_id == session_id,
                    EventRow.analysis_run == row.analysis_run,
                    EventRow.seq == seq,
                )
            ).first()
            if event is None:
                raise NotFoundError(f"no event {seq} in session {session_id}")
            number = db.scalar(select(func.count(EventReviewRow.id)).where(EventReviewRow.session_id == session_id))
            number = int(number or 0)
            entry = self.store.ledger.append(
                db,
                "event_review",
                f"{session_id}/{number}",
                {
                    "session": session_id,
                    "run": row.analysis_run,
                    "event": seq,
                    "type": event.type,
                    "action": action.value,
                    "note": text,
                    "examiner": reviewer.full_name,
                    "examiner_id": reviewer.user_id,
                },
            )
            review = EventReviewRow(
                session_id=session_id,
                analysis_run=row.analysis_run,
                event_seq=seq,
                action=action.value,
                note=text,
                user_id=reviewer.user_id,
                examiner=reviewer.full_name,
                ledger_index=entry.index,
            )
            db.add(review)
            self._under_review(db, row)
            if self.store.statement_sink is not None:
                facts = self.store.facts(db, row)
                flag = FlagReview(row.analysis_run, seq, event.type, event.start_s, action.value, text, number)
                self.store.statement_sink(
                    db, facts.college_id, flag_review_statement(facts, flag, examiner_of(reviewer))
                )
            db.flush()
            return ReviewRecorded(review.id, session_id, seq, action, text, entry.index)

    def verdict(self, reviewer: Reviewer, session_id: str, verdict: str, reason: str) -> DecisionRow:
        """The examiner's verdict: confirmed, annulled or retake (the last two with their reason)."""
        text = _check_note(reason, required=False)
        with self.store.sessions() as db:
            reviewer_session(db, reviewer, session_id)  # not found unless this reviewer may see it
        return self.service.decide(
            reviewer.college_id, session_id, verdict, reviewer.full_name, text, signed_in=examiner_of(reviewer)
        )

    @staticmethod
    def _under_review(db: Session, row: SessionRow) -> None:
        """The first decision on an analysed session puts it under review (a recorded move of its lifecycle)."""
        if row.status == Status.ANALYSED.value:
            db.add(TransitionRow(session_id=row.id, from_status=row.status, to_status=Status.REVIEWED.value, detail={}))
            row.status = Status.REVIEWED.value
