"""What a live session keeps in the database: its timeline, transitions, events as they open and close,
and its final result (in one transaction with its ledger record and footprint statement).

The candidate's join token is the only credential of a live session: an unknown token is refused
(401), a finished session or a closed exam is gone (410). Only the token's hash is stored.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from footprint.ledger import canonical
from footprint.store.times import as_utc
from proctor.analyzers.sessionfaces import SessionFace
from proctor.errors import ProctorError
from proctor.lti import grades
from proctor.recording.signature import Signature, pack
from proctor.sessions.clock import db_time
from proctor.sessions.errors import StateError
from proctor.sessions.faces import face_rows, store_face_photos
from proctor.sessions.lifecycle import Status, move
from proctor.sessions.statements import analysed_statement
from proctor.sessions.store import SessionStore
from proctor.sessions.tables import (
    CandidateRow,
    EventRow,
    ExamRow,
    FrameSignatureRow,
    SessionRow,
    TransitionRow,
    utcnow,
)

logger = logging.getLogger(__name__)

LIVE_STATES = frozenset({Status.SCHEDULED, Status.IDENTITY_CHECK, Status.ROOM_SCAN, Status.IN_PROGRESS})
LIVE_RUN = 1
"""Live events are the session's first analysis run; a later re-analysis of the recording would be run 2."""


class TokenRefused(ProctorError):
    """The join token names no session (401)."""


class SessionGone(ProctorError):
    """The session is finished or its exam has closed (410): the link no longer opens it."""


class ExamNotOpen(ProctorError):
    """The exam opens later (its `opens_at`): its link shows when, and opens nothing yet."""

    def __init__(self, opens_at: datetime) -> None:
        super().__init__(f"the exam opens at {opens_at.isoformat()}")
        self.opens_at = opens_at


class ConsentRequired(ProctorError):
    """The candidate has not accepted the proctoring terms: nothing of theirs is recorded yet (403)."""


@dataclass(frozen=True)
class LiveTicket:
    """A live session as its candidate may see it, found by the join token."""

    session_id: str
    college_id: str
    exam_id: str
    exam_title: str
    candidate_name: str
    status: Status
    policy: dict[str, Any]
    embedding: bytes | None
    """The candidate's enrolled reference; None when they have no reference photo (identity is not checked)."""
    duration_min: int | None
    content_url: str | None
    started_at: datetime | None
    last_s: float | None
    next_number: int
    consent: str | None = None
    identity: str | None = None
    """The identity check's outcome when it is over (a page reloaded after it needs to know)."""
    photo: bytes | None = field(default=None, repr=False)
    """The enrolled reference photo (to warm the live analysis up on), None when it cannot be read."""


@dataclass(frozen=True)
class PageView:
    """What the exam page needs to greet its candidate, whatever the session's state (no secrets in it)."""

    session_id: str
    status: Status
    exam_title: str
    candidate_name: str
    policy: dict[str, Any]
    consent: str | None
    closed: bool
    """The exam's closing time has passed."""
    content_url: str | None = None
    opens_at: datetime | None = None
    """Set while the exam has not opened yet: when it opens."""
    gated: bool = False
    """The exam's LMS quiz has a password the page shows once the session is in progress (never the password)."""


def _next_number(db: Session, session_id: str) -> int:
    top = db.scalar(
        select(func.max(EventRow.seq)).where(EventRow.session_id == session_id, EventRow.analysis_run == LIVE_RUN)
    )
    return 0 if top is None else int(top) + 1


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_of(db: Session, join_token: str) -> SessionRow | None:
    """The session an exam link's token opens (None for any other token)."""
    return db.scalars(select(SessionRow).where(SessionRow.join_token_hash == token_hash(join_token))).first()


class LiveRecords:
    """The database side of live sessions (called from threads, never from the event loop)."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    def ticket(self, token: str, now: datetime | None = None) -> LiveTicket:
        """The session this token opens; TokenRefused or SessionGone when it opens none."""
        moment = now or datetime.now(UTC)
        with self.store.sessions() as db:
            row = session_of(db, token)
            if row is None:
                raise TokenRefused("this exam link is not valid")
            exam = db.get(ExamRow, row.exam_id)
            candidate = db.get(CandidateRow, row.candidate_id)
            if exam is None or candidate is None:
                raise TokenRefused("this exam link is not valid")
            status = Status(row.status)
            if status not in LIVE_STATES:
                raise SessionGone("this exam session is finished; the link no longer opens it")
            closes = as_utc(exam.closes_at)
            if closes is not None and closes <= moment:
                raise SessionGone(f"the exam closed at {closes.isoformat()}")
            opens = as_utc(exam.opens_at)
            if opens is not None and moment < opens:
                raise ExamNotOpen(opens)
            return LiveTicket(
                session_id=row.id,
                college_id=exam.college_id,
                exam_id=exam.id,
                exam_title=exam.title,
                candidate_name=candidate.full_name,
                status=status,
                policy=dict(exam.policy),
                embedding=candidate.embedding,
                duration_min=exam.duration_min,
                content_url=exam.content_url,
                started_at=as_utc(row.live_started_at),
                last_s=row.live_last_s,
                next_number=_next_number(db, row.id),
                consent=row.consent,
                identity=row.identity,
                photo=self._photo(candidate.photo_key) if candidate.photo_key is not None else None,
            )

    def page_view(self, token: str, now: datetime | None = None) -> PageView:
        """The session behind an exam link for its page (TokenRefused when the link names none)."""
        moment = now or datetime.now(UTC)
        with self.store.sessions() as db:
            row = session_of(db, token)
            exam = db.get(ExamRow, row.exam_id) if row is not None else None
            candidate = db.get(CandidateRow, row.candidate_id) if row is not None else None
            if row is None or exam is None or candidate is None:
                raise TokenRefused("this exam link is not valid")
            closes = as_utc(exam.closes_at)
            opens = as_utc(exam.opens_at)
            return PageView(
                session_id=row.id,
                status=Status(row.status),
                exam_title=exam.title,
                candidate_name=candidate.full_name,
                policy=dict(exam.policy),
                consent=row.consent,
                closed=closes is not None and closes <= moment,
                content_url=exam.content_url,
                opens_at=opens if opens is not None and moment < opens else None,
                gated=exam.gate_secret is not None,
            )

    def consent(self, session_id: str, accepted: bool, at_s: float | None, terms: str) -> Status:
        """The candidate's answer to the proctoring terms (`terms` names the text they were shown), recorded in
        the ledger; declining ends the session (`declined`) before anything is recorded. Returns the status."""
        answer = "accepted" if accepted else "declined"
        moment = datetime.now(UTC)
        with self.store.write() as db:
            row = self._row(db, session_id)
            exam = db.get(ExamRow, row.exam_id)
            opens, closes = (as_utc(exam.opens_at), as_utc(exam.closes_at)) if exam is not None else (None, None)
            if opens is not None and moment < opens:
                raise StateError(f"the exam opens at {opens.isoformat()}")
            if closes is not None and closes <= moment:
                raise SessionGone(f"the exam closed at {closes.isoformat()}")
            current = Status(row.status)
            if row.consent == answer:
                return current
            if not accepted and current != Status.SCHEDULED:
                raise StateError("the exam has started: finish it instead of declining")
            target = current if accepted else move(row.status, Status.DECLINED)
            detail = {"consent": answer, "terms": terms}
            payload = {"session": session_id, "from": current.value, "to": target.value, "at_s": at_s, **detail}
            self._transition(db, session_id, current, target, at_s, detail, payload)
            row.consent = answer
            row.status = target.value
            logger.info("session %s: consent %s", session_id, answer)
            return target

    def _photo(self, key: str) -> bytes | None:
        try:
            with self.store.storage.open(key) as stored:
                return stored.read()
        except OSError:
            logger.warning("the reference photo %s cannot be read; live analysis starts cold", key)
            return None

    def recording_session(self, token: str) -> str:
        """The session a live client sends its own recording to (whether a part is still taken is for
        `LiveParts` to say); ConsentRequired before the candidate accepted the proctoring terms."""
        with self.store.sessions() as db:
            row = session_of(db, token)
            if row is None:
                raise TokenRefused("this exam link is not valid")
            if row.consent != "accepted":
                raise ConsentRequired("the candidate has not accepted the proctoring terms: send consent first")
            return row.id

    def start(self, session_id: str, origin: datetime) -> datetime:
        """Fix the session's time zero at its first live media (once) and mark it live; returns time zero."""
        with self.store.write() as db:
            row = self._row(db, session_id)
            if row.live_started_at is None:
                row.live_started_at = origin
                row.analysis_run = LIVE_RUN
                row.job_state = "live"
            started = as_utc(row.live_started_at)
            return started if started is not None else origin

    def move_to(
        self, session_id: str, target: Status, at_s: float | None, detail: dict[str, Any], *, ledger: bool = False
    ) -> Status:
        """Move the lifecycle (recorded with its cause); with `ledger`, the cause is a result the ledger keeps."""
        with self.store.write() as db:
            row = self._row(db, session_id)
            current = Status(row.status)
            if current == target:
                return current
            move(row.status, target)
            payload = {"session": session_id, "from": current.value, "to": target.value, "at_s": at_s, **detail}
            self._transition(db, session_id, current, target, at_s, detail, payload if ledger else None)
            row.status = target.value
            logger.info("session %s: %s → %s", session_id, current.value, target.value)
            return target

    def note(self, session_id: str, at_s: float, detail: dict[str, Any], *, ledger: bool = True) -> None:
        """A result within a state (an in-exam room scan): recorded like a transition, and (by default) in the
        ledger; a step that proves nothing (a calibration) is recorded only."""
        with self.store.write() as db:
            state = Status(self._row(db, session_id).status)
            payload = {"session": session_id, "at_s": round(at_s, 3), **detail}
            self._transition(db, session_id, state, state, at_s, detail, payload if ledger else None)

    def _transition(
        self,
        db: Session,
        session_id: str,
        source: Status,
        target: Status,
        at_s: float | None,
        detail: dict[str, Any],
        payload: dict[str, Any] | None,
    ) -> None:
        """Record a transition (or a result within a state) with its cause; with a `payload`, also as the
        session's next `session_transition` leaf of the ledger."""
        index = None
        if payload is not None:
            count = db.scalar(select(func.count(TransitionRow.id)).where(TransitionRow.session_id == session_id))
            index = self.store.ledger.append(db, "session_transition", f"{session_id}/{count}", payload).index
        row = TransitionRow(
            session_id=session_id,
            from_status=source.value,
            to_status=target.value,
            at_s=at_s,
            detail=detail,
            ledger_index=index,
        )
        db.add(row)

    def next_number(self, session_id: str) -> int:
        """The number the session's next live event takes (after every stored one)."""
        with self.store.sessions() as db:
            top = db.scalar(
                select(func.max(EventRow.seq)).where(
                    EventRow.session_id == session_id, EventRow.analysis_run == LIVE_RUN
                )
            )
            return 0 if top is None else int(top) + 1

    def signatures(self, session_id: str, seen: list[Signature]) -> None:
        """Keep signatures of frames the live analysis received (the seal checks the kept recording with them)."""
        if seen:
            with self.store.write() as db:
                db.add(FrameSignatureRow(session_id=session_id, first_s=seen[0].at_s, signatures=pack(seen)))

    def set_identity(self, session_id: str, outcome: str) -> None:
        with self.store.write() as db:
            self._row(db, session_id).identity = outcome

    def reached(self, session_id: str, last_s: float) -> None:
        """Remember how far the session's media got (a restart resumes after it)."""
        with self.store.write() as db:
            row = self._row(db, session_id)
            row.live_last_s = max(row.live_last_s or 0.0, last_s)

    def event_opened(self, session_id: str, event: dict[str, Any], detected_s: float, evidence: bytes | None) -> None:
        """Store an event the moment it opens (its end provisional), with the evidence seen so far; `detected_s`
        is the media time of the input that opened it."""
        key = self._evidence(session_id, event, evidence)
        with self.store.kept_until_commit([key] if key else []), self.store.write() as db:
            row = self._row(db, session_id)
            opened = self._event_row(row, event, key, state="open")
            opened.detected_s = detected_s
            db.add(opened)
            row.live_last_s = max(row.live_last_s or 0.0, float(event["end_s"]))

    def event_closed(self, session_id: str, event: dict[str, Any], evidence: bytes | None) -> None:
        """Complete an open event with its end and final measurements (or store one that was never open)."""
        key = self._evidence(session_id, event, evidence)
        replaced: str | None = None
        with self.store.kept_until_commit([key] if key else []), self.store.write() as db:
            row = self._row(db, session_id)
            stored = db.scalars(
                select(EventRow).where(
                    EventRow.session_id == session_id,
                    EventRow.analysis_run == LIVE_RUN,
                    EventRow.seq == int(event["number"]),
                )
            ).first()
            if stored is None:
                db.add(self._event_row(row, event, key, state="closed"))
            else:
                if key and stored.evidence_key and stored.evidence_key != key:
                    replaced = stored.evidence_key  # the peak moved on: the final evidence replaces the first
                self._fill(stored, event, key or stored.evidence_key)
                stored.state = "closed"
            row.live_last_s = max(row.live_last_s or 0.0, float(event["end_s"]))
        if replaced is not None:
            self.store.storage.delete(replaced)

    def close_dangling(self, session_id: str) -> int:
        """After a restart: events left open by the server that died end where the stored media ended."""
        with self.store.write() as db:
            row = self._row(db, session_id)
            dangling = db.scalars(
                select(EventRow).where(
                    EventRow.session_id == session_id, EventRow.analysis_run == LIVE_RUN, EventRow.state == "open"
                )
            ).all()
            for event in dangling:
                event.end_s = max(event.start_s, row.live_last_s or event.end_s)
                event.state = "closed"
            return len(dangling)

    def finish(
        self,
        session_id: str,
        events: list[dict[str, Any]],
        score: float,
        report: dict[str, Any],
        faces: Sequence[SessionFace] = (),
    ) -> SessionRow:
        """The live analysis is complete: every event final, the faces seen, the score, and the result in the ledger
        and footprint (the faces' photos are stored first, and removed again if the transaction fails)."""
        photos: dict[int, str] = {}
        if faces:  # under a folder of their own: a repeated call never removes the photos of an earlier one
            stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
            photos = store_face_photos(self.store, f"{self._prefix(session_id)}/faces/{stamp}", faces)
        with self.store.kept_until_commit(list(photos.values())), self.store.write() as db:
            row = self._row(db, session_id)
            db.add_all(face_rows(row.id, LIVE_RUN, faces, photos))
            stored = {
                e.seq: e
                for e in db.scalars(
                    select(EventRow).where(EventRow.session_id == session_id, EventRow.analysis_run == LIVE_RUN)
                )
            }
            for event in events:
                existing = stored.get(int(event["number"]))
                if existing is None:
                    db.add(self._event_row(row, event, None, state="closed"))
                else:
                    self._fill(existing, event, existing.evidence_key)
                    existing.state = "closed"
            counts: dict[str, int] = {}
            for event in events:
                counts[event["type"]] = counts.get(event["type"], 0) + 1
            if Status(row.status) != Status.SUBMITTED:
                self._record_move(db, row, Status.SUBMITTED, float(report.get("analysed_duration_s", 0.0)))
                grades.enqueue(db, row, grades.PENDING)  # the LMS's column says "pending" until a verdict
            row.score = score
            row.report = report
            row.job_state = "done"
            # the page's last parts are taken for a while yet (unless it seals them sooner), by the database's clock
            row.recording_until = db.scalar(select(db_time(self.store.config.recording.grace_s)))
            row.job_progress = 1.0
            row.analysed_at = utcnow()
            self._record_move(db, row, Status.ANALYSED, None)
            self.store.ledger.append(
                db,
                "proctoring_analysis",
                f"{row.id}/{LIVE_RUN}",
                {
                    "session": row.id,
                    "run": LIVE_RUN,
                    "live": True,
                    "score": round(score, 2),
                    "event_counts": counts,
                    "events_sha256": hashlib.sha256(canonical({"events": events})).hexdigest(),
                },
            )
            if self.store.statement_sink is not None:
                facts = self.store.facts(db, row)
                duration = float(report.get("analysed_duration_s", 0.0))
                self.store.statement_sink(db, facts.college_id, analysed_statement(facts, score, counts, duration))
            return row

    @staticmethod
    def _record_move(db: Session, row: SessionRow, target: Status, at_s: float | None) -> None:
        current = row.status
        row.status = move(current, target).value
        db.add(TransitionRow(session_id=row.id, from_status=current, to_status=target.value, at_s=at_s, detail={}))

    def _row(self, db: Session, session_id: str) -> SessionRow:
        row = db.get(SessionRow, session_id)
        if row is None:
            raise TokenRefused(f"no session {session_id}")
        return row

    def _evidence(self, session_id: str, event: dict[str, Any], evidence: bytes | None) -> str | None:
        if evidence is None:
            return None
        prefix = f"{self._prefix(session_id)}/evidence"
        stamp = datetime.now(UTC).strftime("%H%M%S%f")
        return self.store.put_bytes(f"{prefix}/{int(event['number']):04d}-{stamp}.jpg", evidence)

    def _prefix(self, session_id: str) -> str:
        """Where the live session's media is stored."""
        with self.store.sessions() as db:
            row = self._row(db, session_id)
            exam = db.get(ExamRow, row.exam_id)
            college = exam.college_id if exam is not None else "unknown"
            return f"{college}/{row.exam_id}/{row.id}/live"

    @staticmethod
    def _event_row(row: SessionRow, event: dict[str, Any], key: str | None, state: str) -> EventRow:
        stored = EventRow(
            session_id=row.id,
            analysis_run=LIVE_RUN,
            seq=int(event["number"]),
            state=state,
            opened_at=utcnow(),
            evidence_key=key,
            type=event["type"],
            start_s=0.0,
            end_s=0.0,
            severity="info",
            confidence=0.0,
            technical=False,
            peak_s=0.0,
            measurements={},
        )
        LiveRecords._fill(stored, event, key)
        return stored

    @staticmethod
    def _fill(stored: EventRow, event: dict[str, Any], key: str | None) -> None:
        stored.type = event["type"]
        stored.start_s = float(event["start_s"])
        stored.end_s = float(event["end_s"])
        stored.severity = event["severity"]
        stored.confidence = float(event["confidence"])
        stored.technical = bool(event["technical"])
        stored.peak_s = float(event["peak_s"])
        stored.measurements = dict(event["measurements"])
        stored.evidence_key = key
