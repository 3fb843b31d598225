"""The live client's own recording, taken part by part while the session is live and for its finishing upload,
and only what passes every check (`proctor/recording/parts.py`).

A part is taken when its session is live, or finished and neither sealed nor past its grace time
(`recording_until`, the database's clock); when it is the next part of its run (parts come in order, each once:
a byte-identical retry is answered as kept, other bytes under a kept number are refused); when its run is one of
the session's bounded number, of the track it claims, and does not overlap another run of that track; when it and
the session's recording stay under their size limits; and when its media is the honest continuation of its
run's stream, inside the session's time. The part's file and its row and ledger record are written together
only then: a refused part leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from footprint.store.times import as_utc
from proctor.recording.parts import CheckedPart, Timeline, check_part
from proctor.recording.signature import pack
from proctor.recording.webm import PartRefused, StreamState
from proctor.sessions.clock import db_time
from proctor.sessions.errors import InvalidInputError, NotFoundError, SealedError, StateError, TooLargeError
from proctor.sessions.lifecycle import Status
from proctor.sessions.side_camera import SideViews
from proctor.sessions.store import SessionStore
from proctor.sessions.tables import ChunkRow, ExamRow, RecordingRunRow, SessionRow

logger = logging.getLogger(__name__)

LIVE = frozenset({Status.SCHEDULED, Status.IDENTITY_CHECK, Status.ROOM_SCAN, Status.IN_PROGRESS})
TRACKS = ("camera", "screen", "side")
OVERLAP_SLACK_S = 0.5
"""How much two runs of one track may overlap on the timeline (a page's clock estimate at a reload)."""


@dataclass(frozen=True)
class RecordingPart:
    """One piece of a live client's recording: part `number` of run `run`, which starts at `run_start_s`."""

    run: str
    number: int
    run_start_s: float
    data: bytes = field(repr=False)
    container: str = "webm"
    track: str = "camera"
    """`camera` (camera and microphone), `screen` (the candidate's shared screen) or `side` (the phone beside the
    candidate: `proctor/sessions/side_camera.py`)."""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class _Plan:
    """What the database said before the part was checked (the transaction then makes sure it still holds)."""

    session_id: str
    prefix: str
    run_id: int | None
    state: StreamState | None
    timeline: Timeline


class LiveParts:
    """Takes a live client's recording parts (called from threads, never from the event loop)."""

    def __init__(self, store: SessionStore, views: SideViews | None = None) -> None:
        self.store = store
        self.views = views or SideViews()
        """The side camera's analysis, run on a side part's keyframes as it is taken."""

    def accept(self, session_id: str, part: RecordingPart, now: datetime | None = None) -> bool:
        """Keep a part if it passes every check; False for a retry of a part kept with these very bytes.
        SealedError (410), StateError (409), TooLargeError (413) or InvalidInputError (422) say why not."""
        limits = self.store.config.recording
        if len(part.data) > limits.part_bytes:
            raise TooLargeError(f"a recording part is at most {limits.part_bytes} bytes")
        if part.track not in TRACKS:
            raise InvalidInputError(f"a recording's track is one of {', '.join(TRACKS)}")
        moment = now or datetime.now(UTC)
        with self.store.sessions() as db:
            row = self._open_session(db, session_id)
            kept = self._kept(db, session_id, part)
            if kept is not None:
                return False
            plan = self._plan(db, row, part, moment)
        pictures = part.track == "side" or (part.track == "screen" and row.side_token_hash is not None)
        try:
            checked = check_part(part.data, part.number == 0, plan.state, plan.timeline, pictures=pictures)
        except PartRefused as exc:
            raise InvalidInputError(f"part {part.number} of recording {part.run} is refused: {exc}") from exc
        views = self.views.see(session_id, checked.pictures) if part.track == "side" else None
        key = self.store.put_bytes(f"{plan.prefix}/{part.run}/{part.number:06d}.part", part.data)
        with self.store.kept_until_commit([key]), self.store.write() as db:
            row = self._open_session(db, session_id, lock=True)
            if self._kept(db, session_id, part) is not None:  # the same part, kept meanwhile by a retry
                self.store.storage.delete(key)
                return False
            run = self._run(db, session_id, part.run)
            if (run.id if run is not None else None) != plan.run_id or (run.parts if run else 0) != part.number:
                raise StateError(f"part {part.number} of recording {part.run} came with another part: send it again")
            self._keep(db, row, run, part, checked, key, limits.session_bytes, views)
        if part.track == "screen" and checked.pictures:
            self.views.screen_shown(session_id, checked.pictures[-1])  # what the phone should see of the screen
        return True

    # -- before the check ------------------------------------------------------------------------------------

    def _open_session(self, db: Session, session_id: str, *, lock: bool = False) -> SessionRow:
        query = select(SessionRow).where(SessionRow.id == session_id)
        row = db.scalars(query.with_for_update() if lock else query).first()
        if row is None:
            raise NotFoundError(f"no session {session_id}")
        if row.recording_sealed_at is not None:
            raise SealedError("the recording of this session is sealed: no part is taken any more")
        self._in_window(db, row)
        if Status(row.status) in LIVE:
            return row
        still = db.scalar(select(SessionRow.id).where(SessionRow.id == row.id, SessionRow.recording_until > db_time(0)))
        if still is None:
            raise SealedError("the exam is over and its time for sending the recording has passed")
        return row

    def _in_window(self, db: Session, row: SessionRow) -> None:
        """Parts come while the exam is open, and for its grace time after it closes (the last parts of a candidate
        still sitting it then)."""
        exam = db.get(ExamRow, row.exam_id)
        if exam is None:
            raise NotFoundError(f"no exam for session {row.id}")
        grace = self.store.config.recording.grace_s
        if exam.opens_at is not None:
            opened = db.scalar(select(ExamRow.id).where(ExamRow.id == exam.id, ExamRow.opens_at <= db_time(0)))
            if opened is None:
                raise StateError(f"the exam opens at {as_utc(exam.opens_at).isoformat()}")
        if exam.closes_at is not None:
            still = db.scalar(select(ExamRow.id).where(ExamRow.id == exam.id, ExamRow.closes_at > db_time(-grace)))
            if still is None:
                raise SealedError(f"the exam closed at {as_utc(exam.closes_at).isoformat()}: no part is taken any more")

    @staticmethod
    def _kept(db: Session, session_id: str, part: RecordingPart) -> ChunkRow | None:
        kept = db.scalars(
            select(ChunkRow)
            .join(RecordingRunRow, RecordingRunRow.id == ChunkRow.run_id)
            .where(
                RecordingRunRow.session_id == session_id,
                RecordingRunRow.run == part.run,
                ChunkRow.part == part.number,
            )
        ).first()
        if kept is not None and kept.sha256 != part.sha256:
            raise StateError(f"part {part.number} of recording {part.run} was already kept with other bytes")
        return kept

    @staticmethod
    def _run(db: Session, session_id: str, name: str) -> RecordingRunRow | None:
        return db.scalars(
            select(RecordingRunRow).where(RecordingRunRow.session_id == session_id, RecordingRunRow.run == name)
        ).first()

    def _plan(self, db: Session, row: SessionRow, part: RecordingPart, now: datetime) -> _Plan:
        limits = self.store.config.recording
        exam = db.get(ExamRow, row.exam_id)
        if exam is None:
            raise NotFoundError(f"no exam for session {row.id}")
        started = row.live_started_at
        if started is None:
            raise StateError("the session's time starts with its first live media: send the recording after that")
        started = as_utc(started)
        now_s = (now - started).total_seconds()
        run = self._run(db, row.id, part.run)
        if run is None:
            if part.number != 0:
                raise StateError(f"recording {part.run} has not started: its part 0 comes first")
            runs = db.scalars(select(RecordingRunRow).where(RecordingRunRow.session_id == row.id)).all()
            if len(runs) >= limits.runs:
                raise TooLargeError(f"a session's recording has at most {limits.runs} runs")
            if not -0.5 <= part.run_start_s <= now_s + 5.0:
                raise InvalidInputError(f"a run starts inside the session's time (0 to {now_s:.1f} s)")
            for other in runs:
                if other.track == part.track and part.run_start_s < (other.end_s or other.start_s) - OVERLAP_SLACK_S:
                    raise StateError(f"recording {part.run} would overlap recording {other.run} of the {part.track}")
            timeline = Timeline(part.run_start_s, None, now_s)
            return _Plan(row.id, self._prefix(exam, row), None, None, timeline)
        if run.track != part.track:
            raise StateError(f"recording {part.run} holds the {run.track}, not the {part.track}")
        if part.number != run.parts:
            raise StateError(f"part {part.number} of recording {part.run}: the next part is {run.parts}")
        if run.stream is None:
            raise StateError(f"recording {part.run} was kept before parts were checked: start a new run")
        state = StreamState.from_json(dict(run.stream))
        return _Plan(row.id, self._prefix(exam, row), run.id, state, Timeline(run.start_s, run.origin_s, now_s))

    @staticmethod
    def _prefix(exam: ExamRow, row: SessionRow) -> str:
        return f"{exam.college_id}/{exam.id}/{row.id}/recording/live"

    # -- keeping it ------------------------------------------------------------------------------------------

    def _keep(
        self,
        db: Session,
        row: SessionRow,
        run: RecordingRunRow | None,
        part: RecordingPart,
        checked: CheckedPart,
        key: str,
        session_bytes: int,
        views: list[list[float]] | None = None,
    ) -> None:
        kept_bytes = db.scalar(
            select(func.coalesce(func.sum(ChunkRow.size), 0)).where(
                ChunkRow.session_id == row.id, ChunkRow.run_id.is_not(None)
            )
        )
        if int(kept_bytes or 0) + len(part.data) > session_bytes:
            raise TooLargeError(f"a session's recording is at most {session_bytes} bytes")
        if run is None:
            run = RecordingRunRow(session_id=row.id, run=part.run, start_s=part.run_start_s, track=part.track, parts=0)
            db.add(run)
            db.flush()
        if checked.span is not None:
            for other in db.scalars(
                select(RecordingRunRow).where(
                    RecordingRunRow.session_id == row.id,
                    RecordingRunRow.track == part.track,
                    RecordingRunRow.id != run.id,
                )
            ):
                if (
                    other.start_s - OVERLAP_SLACK_S < checked.span[1]
                    and checked.span[0] < (other.end_s or other.start_s) - OVERLAP_SLACK_S
                ):
                    raise StateError(f"recording {part.run} overlaps recording {other.run} of the {part.track}")
        top = db.scalar(select(func.max(ChunkRow.seq)).where(ChunkRow.session_id == row.id))
        seq = 0 if top is None else top + 1
        entry = self.store.ledger.append(
            db,
            "recording_chunk",
            f"{row.id}/{seq}",
            {
                "session": row.id,
                "run": part.run,
                "track": part.track,
                "part": part.number,
                "seq": seq,
                "sha256": part.sha256,
                "size": len(part.data),
                "run_start_s": round(run.start_s, 3),
            },
        )
        db.add(
            ChunkRow(
                session_id=row.id,
                seq=seq,
                start_s=run.start_s,
                duration_s=0.0,  # known once the run's parts are joined
                sha256=part.sha256,
                size=len(part.data),
                container=part.container,
                run_id=run.id,
                part=part.number,
                rotation=0,
                storage_key=key,
                ledger_index=entry.index,
                samples=pack(checked.samples) if checked.samples else None,
                views=views,
            )
        )
        run.parts = part.number + 1
        run.stream = checked.state.to_json()
        run.origin_s = checked.origin_s
        if checked.span is not None:
            run.end_s = max(run.end_s or checked.span[1], checked.span[1])
