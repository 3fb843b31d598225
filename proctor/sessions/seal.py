"""Sealing a live session's kept recording, and checking that it shows what the live analysis saw.

A finished live session's recording is sealed when its page says the last part is sent, or by the platform once
the session's grace time for the finishing upload has passed (`seal_overdue`, on one node at a time). From then
on no part is taken. The seal compares every keyframe the browser's recording holds with the frames the live
analysis received near that moment (`proctor/recording/signature.py`): a stretch of the recording that shows
something else becomes a `recording_mismatch` event for the examiner (an integrity event: it changes no score
and decides nothing). The seal, what each run holds, what the page said it sent and what the check found are
one record of the ledger.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from footprint.ledger import canonical
from footprint.store.times import as_utc
from proctor.events.vocabulary import EventType
from proctor.recording.signature import Signature, check_samples, mismatch_spans, unpack
from proctor.sessions.clock import db_time
from proctor.sessions.errors import StateError
from proctor.sessions.lifecycle import Status
from proctor.sessions.live import LIVE_RUN, LIVE_STATES
from proctor.sessions.side_camera import side_events
from proctor.sessions.store import SessionStore
from proctor.sessions.tables import (
    ChunkRow,
    EventRow,
    ExamRow,
    FrameSignatureRow,
    RecordingRunRow,
    SessionRow,
    utcnow,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckSettings:
    """How the kept recording is compared with what the analysis saw (see signature.py for the measurements)."""

    min_similarity: float = 0.9
    window_s: float = 1.0
    """A recording sample is compared with the analysis's frames this close to its moment."""
    min_samples: int = 2
    """Samples in a row below `min_similarity` that make an event (one odd frame does not)."""
    join_s: float = 10.0


@dataclass(frozen=True)
class RunSeal:
    """What one run of the recording holds at the seal, and what its page said it sent."""

    run: str
    track: str
    parts: int
    bytes: int
    start_s: float
    end_s: float | None
    said_parts: int | None
    """The number of parts the page says it sent (None: it said nothing of this run)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "track": self.track,
            "parts": self.parts,
            "bytes": self.bytes,
            "start_s": round(self.start_s, 3),
            "end_s": None if self.end_s is None else round(self.end_s, 3),
            "said_parts": self.said_parts,
        }


@dataclass(frozen=True)
class Seal:
    """A sealed recording: when and why, its runs, and the check's outcome."""

    sealed_at: datetime
    why: str
    runs: tuple[RunSeal, ...]
    check: str
    """`verified`, `mismatch` or `unverified` (nothing could be compared)."""
    samples: int
    compared: int
    mismatched: int

    def page_view(self) -> dict[str, Any]:
        """What the candidate's page is told: that it is sealed and what was kept (not what the check found)."""
        return {
            "sealed_at": self.sealed_at.isoformat(),
            "runs": [{"run": r.run, "parts": r.parts, "said_parts": r.said_parts} for r in self.runs],
        }


class RecordingSeals:
    """Seals live sessions' recordings (called from threads, never from the event loop)."""

    def __init__(self, store: SessionStore, settings: CheckSettings | None = None) -> None:
        self.store = store
        self.settings = settings or CheckSettings()

    def seal(self, session_id: str, why: str, said: dict[str, int] | None = None) -> Seal:
        """Seal the session's recording now (a second call answers with the first seal); StateError while the
        exam is still going on."""
        with self.store.write() as db:
            row = db.scalars(select(SessionRow).where(SessionRow.id == session_id).with_for_update()).first()
            if row is None:
                raise StateError(f"no session {session_id}")
            if Status(row.status) in LIVE_STATES:
                raise StateError("the exam is not finished: its recording is sealed once it is")
            runs = self._runs(db, session_id, said or {})
            if row.recording_sealed_at is not None:
                return self._stored(db, row, runs)
            samples, seen = self._samples(db, session_id), self._seen(db, session_id)
            checks = check_samples(samples, seen, self.settings.window_s)
            spans = mismatch_spans(
                checks, self.settings.min_similarity, self.settings.min_samples, self.settings.join_s
            )
            compared = [c for c in checks if c.similarity is not None]
            mismatched = [c for c in compared if (c.similarity or 0.0) < self.settings.min_similarity]
            outcome = "mismatch" if spans else "verified" if compared else "unverified"
            events = self._events(db, row, spans, len(samples))
            events += self._side_events(db, row, events[-1]["number"] + 1 if events else None)
            moment = utcnow()
            seal = Seal(moment, why, runs, outcome, len(samples), len(compared), len(mismatched))
            self.store.ledger.append(
                db,
                "recording_sealed",
                session_id,
                {
                    "session": session_id,
                    "why": why,
                    "runs": [r.to_json() for r in runs],
                    "check": {
                        "outcome": outcome,
                        "samples": len(samples),
                        "compared": len(compared),
                        "mismatched": len(mismatched),
                        "min_similarity": self.settings.min_similarity,
                    },
                    "events_sha256": hashlib.sha256(canonical({"events": events})).hexdigest(),
                },
            )
            row.recording_sealed_at = moment
            row.recording_check = outcome
        logger.info("session %s: recording sealed (%s): %s", session_id, why, outcome)
        return seal

    def seal_overdue(self) -> list[str]:
        """Seal every finished session whose time for the finishing upload has passed; returns their ids."""
        with self.store.sessions() as db:
            due = db.scalars(
                select(SessionRow.id).where(
                    SessionRow.recording_sealed_at.is_(None),
                    SessionRow.recording_until.is_not(None),
                    SessionRow.recording_until <= db_time(0),
                )
            ).all()
        sealed = []
        for session_id in due:
            try:
                self.seal(session_id, "the time for the finishing upload passed")
            except StateError:
                continue  # back in a live state (a re-opened session): it is sealed after it
            sealed.append(session_id)
        return sealed

    # -- what the seal is made of ---------------------------------------------------------------------------

    @staticmethod
    def _runs(db: Session, session_id: str, said: dict[str, int]) -> tuple[RunSeal, ...]:
        runs = db.scalars(
            select(RecordingRunRow).where(RecordingRunRow.session_id == session_id).order_by(RecordingRunRow.start_s)
        ).all()
        sizes = dict(
            db.execute(
                select(ChunkRow.run_id, func.sum(ChunkRow.size))
                .where(ChunkRow.session_id == session_id, ChunkRow.run_id.is_not(None))
                .group_by(ChunkRow.run_id)
            ).all()
        )
        return tuple(
            RunSeal(run.run, run.track, run.parts, int(sizes.get(run.id, 0)), run.start_s, run.end_s, said.get(run.run))
            for run in runs
        )

    @staticmethod
    def _samples(db: Session, session_id: str) -> list[Signature]:
        """The keyframe signatures of the camera's runs (the analysis never sees the screen)."""
        rows = db.scalars(
            select(ChunkRow.samples)
            .join(RecordingRunRow, RecordingRunRow.id == ChunkRow.run_id)
            .where(ChunkRow.session_id == session_id, RecordingRunRow.track == "camera", ChunkRow.samples.is_not(None))
        ).all()
        return sorted((s for data in rows if data for s in unpack(data)), key=lambda s: s.at_s)

    @staticmethod
    def _seen(db: Session, session_id: str) -> list[Signature]:
        rows = db.scalars(select(FrameSignatureRow.signatures).where(FrameSignatureRow.session_id == session_id)).all()
        return sorted((s for data in rows for s in unpack(data)), key=lambda s: s.at_s)

    def _events(self, db: Session, row: SessionRow, spans: list[Any], samples: int) -> list[dict[str, Any]]:
        number = _next_live_number(db, row.id)
        events = []
        for span in spans:
            measurements = {
                "samples": span.samples,
                "best_similarity": round(span.best, 3),
                "min_similarity": self.settings.min_similarity,
                "recording_samples": samples,
            }
            confidence = round(1.0 - span.best, 3)
            event = _closed_live_event(
                db, row, number, EventType.RECORDING_MISMATCH.value, span.start_s, span.end_s, "high", confidence,
                False, measurements,
            )  # fmt: skip
            events.append(event)
            number += 1
        return events

    @staticmethod
    def _side_events(db: Session, row: SessionRow, number: int | None) -> list[dict[str, Any]]:
        """The side camera's events (`side_camera.py`), numbered from `number` (None: after the live ones)."""
        exam = db.get(ExamRow, row.exam_id)
        if exam is None:
            return []
        ends = db.scalars(select(RecordingRunRow.end_s).where(RecordingRunRow.session_id == row.id)).all()
        end_s = max([row.live_last_s or 0.0, *(end for end in ends if end is not None)])
        if number is None:
            number = _next_live_number(db, row.id)
        events = []
        for found in side_events(db, row, dict(exam.policy), end_s):
            event = _closed_live_event(
                db, row, number, found.type.value, found.start_s, found.end_s, found.severity, 1.0, found.technical,
                found.measurements,
            )  # fmt: skip
            events.append(event)
            number += 1
        return events

    @staticmethod
    def _stored(db: Session, row: SessionRow, runs: tuple[RunSeal, ...]) -> Seal:
        sealed = row.recording_sealed_at or datetime.now(UTC)
        sealed = as_utc(sealed)
        return Seal(sealed, "sealed before", runs, row.recording_check or "unverified", 0, 0, 0)


def _next_live_number(db: Session, session_id: str) -> int:
    """The number after the session's last live event."""
    top = db.scalar(
        select(func.max(EventRow.seq)).where(EventRow.session_id == session_id, EventRow.analysis_run == LIVE_RUN)
    )
    return 0 if top is None else int(top) + 1


def _closed_live_event(
    db: Session,
    row: SessionRow,
    number: int,
    kind: str,
    start_s: float,
    end_s: float,
    severity: str,
    confidence: float,
    technical: bool,
    measurements: dict[str, Any],
) -> dict[str, Any]:
    """A closed event of the live run found at the seal: its row added, and its JSON (the seal's ledger record)."""
    db.add(
        EventRow(
            session_id=row.id,
            analysis_run=LIVE_RUN,
            seq=number,
            state="closed",
            opened_at=utcnow(),
            type=kind,
            start_s=start_s,
            end_s=end_s,
            severity=severity,
            confidence=confidence,
            technical=technical,
            peak_s=start_s,
            measurements=measurements,
        )
    )
    return {
        "number": number,
        "type": kind,
        "start_s": round(start_s, 3),
        "end_s": round(end_s, 3),
        "severity": severity,
        "confidence": confidence,
        "technical": technical,
        "peak_s": round(start_s, 3),
        "measurements": measurements,
    }
