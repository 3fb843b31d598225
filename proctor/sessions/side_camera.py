"""The side camera: the candidate's phone beside them, joined by a QR code, recorded as the session's `side` track.

**Its token.** The phone gets a secret of its own, never the candidate's join token: `side_token` derives it from
the join token (HMAC-SHA256, 120 bits, base32), so only the candidate's page can show it, and the join token
cannot be recovered from it. Only its hash is stored, once the candidate's page has shown the link. It grants
exactly this: open the phone's page (`/side/TOKEN`), ask the session's clock (`POST /live/side/hello`) and send
recording parts of the `side` track (`PUT /live/recording/...` with `X-Track: side`) — never the candidate's page,
the control socket, the camera's or screen's parts, the seal, the quiz password or the ID card. Its parts are taken
under the same rules as every part (`parts.py`: after the candidate's consent and the session's first media, the
honest continuation of their run, until the recording is sealed), so the side track is kept, hashed into the
ledger, covered by the seal and played back exactly like the camera and the screen.

**Its analysis.** Each side part's keyframes (one every 2 s, already decoded by the part's check) go through
`SideViewer` (people and hands in view) as the part is taken; what it saw is kept with the part (`ChunkRow.views`).
This costs about 0.02 core per side stream, 0.036 where the shared screen is looked for too (`make bench-side`):
a third of the main camera's analysis at most.

**Its events**, found when the recording is sealed (`side_events`, one ledger record with the seal), on the
session's timeline and never scored: `side_camera_joined`, `side_camera_left` (no side recording for more than
`side_camera.max_gap_s`), `side_camera_back` (technical facts); `side_camera_missing` (the exam asks for the phone
and it never sent anything), `side_camera_blind` (it sees nobody in most of its pictures: placed so it sees
nothing useful) and `side_camera_no_screen` (the exam records the shared screen, and the phone does not see it in
most of the pictures where it was looked for), technical flags for the examiner; `side_camera_people` (two or more
people in its view), for the examiner to look at.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from footprint.store.times import as_utc
from proctor.analyzers.screenview import SCREEN_WIDTHS, ScreenFinder
from proctor.events.vocabulary import EventType
from proctor.policy import SideCameraConfig, policy_from_dict
from proctor.recording.parts import Picture
from proctor.sessions.lifecycle import Status
from proctor.sessions.live import LIVE_STATES, ConsentRequired, SessionGone, TokenRefused, session_of, token_hash
from proctor.sessions.store import SessionStore
from proctor.sessions.tables import ChunkRow, ExamRow, RecordingRunRow, SessionRow

logger = logging.getLogger(__name__)

TRACK = "side"
PICTURE_S = 2.0
"""How long one side picture stands for (the phone's recording has a keyframe every 2 s)."""
LATEST_PARTS = 10
"""The phone's status reads its last picture among its latest parts that hold any."""
SCREEN_WITHIN_S = 6.0
"""A side picture is compared with the shared screen's latest keyframe when the two are at most this far apart
(both send a part every 2 s)."""
SCREEN_STILL_WIDTH = max(SCREEN_WIDTHS)
"""The screen's keyframe is kept no wider than the finder describes it."""
SCREEN_UNCHANGED = 2.0
"""A new keyframe of the screen whose 32×18 thumbnail differs from the kept one by less than this (mean, 0–255) is
the same page: its features are not found again (an exam page changes seldom)."""
MAX_SCREENS = 500
"""Sessions whose shared screen's latest keyframe is kept (130 KB each at most)."""
MIN_PICTURES = 3
"""Fewer pictures than this say nothing about where the phone was placed."""


def side_token(join_token: str) -> str:
    """The phone's token for the session the join token opens (the same every time the page is shown)."""
    digest = hmac.new(join_token.encode(), b"proctor side camera v1", hashlib.sha256).digest()
    return base64.b32encode(digest[:15]).decode().lower()


@dataclass(frozen=True)
class SideTicket:
    """The session a side token opens, as its phone may see it."""

    session_id: str
    status: Status
    session_time_s: float | None
    """Seconds since the session's first media (None before it: the phone's parts wait until then)."""


@dataclass(frozen=True)
class SideStatus:
    """What the candidate's page shows of the phone beside them (read from the stored parts, so any node answers).

    `state`: `off` (the exam asks for no phone), `waiting` (nothing recorded yet), `connected` (its last part came
    within `side_camera.max_gap_s` and its last picture saw someone), `sees_nobody` (connected, but its last
    picture saw nobody: turn it toward the desk), `sees_no_screen` (it sees someone, but the shared screen is not in
    its last picture), `lost` (nothing for longer than `max_gap_s`)."""

    state: Literal["off", "waiting", "connected", "sees_nobody", "sees_no_screen", "lost"]
    seconds_since: float | None
    """Seconds since its last part arrived (None before the first)."""


class SideCameras:
    """Side camera links and tokens (called from threads, never from the event loop)."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    def link(self, join_token: str) -> str | None:
        """The side token of the session the join token opens, stored (as its hash) for the phone to use; None
        when the exam asks for no side camera or the session is over."""
        with self.store.write() as db:
            row = session_of(db, join_token)
            exam = db.get(ExamRow, row.exam_id) if row is not None else None
            if row is None or exam is None or Status(row.status) not in LIVE_STATES:
                return None
            if not policy_from_dict(dict(exam.policy)).side_camera.required:
                return None
            token = side_token(join_token)
            if row.side_token_hash != token_hash(token):
                row.side_token_hash = token_hash(token)
            return token

    def status(self, join_token: str, now: datetime | None = None) -> SideStatus:
        """The phone's status for the candidate's page (the join token's session): TokenRefused, SessionGone."""
        moment = now or datetime.now(UTC)
        with self.store.sessions() as db:
            row = session_of(db, join_token)
            if row is None:
                raise TokenRefused("this exam link is not valid")
            if Status(row.status) not in LIVE_STATES:
                raise SessionGone("the exam is over")
            exam = db.get(ExamRow, row.exam_id)
            config = policy_from_dict(dict(exam.policy)).side_camera if exam is not None else None
            if config is None or not config.required:
                return SideStatus("off", None)
            side_parts = (
                select(ChunkRow.created_at, ChunkRow.views)
                .join(RecordingRunRow, ChunkRow.run_id == RecordingRunRow.id)
                .where(ChunkRow.session_id == row.id, RecordingRunRow.track == TRACK)
                .order_by(ChunkRow.id.desc())
            )
            latest = db.execute(side_parts.limit(1)).first()
            # a part may hold no keyframe (no picture): the last picture is that of the latest part with one
            pictured = db.scalars(
                side_parts.with_only_columns(ChunkRow.views).where(ChunkRow.views.is_not(None)).limit(LATEST_PARTS)
            ).all()
        if latest is None:
            return SideStatus("waiting", None)
        arrived = as_utc(latest.created_at)
        since = round(max(0.0, (moment - arrived).total_seconds()), 1)
        if since > config.max_gap_s:
            return SideStatus("lost", since)
        pictures = next((views for views in pictured if views), None)
        last = pictures[-1] if pictures else None
        if last is not None and last[1] < 1:
            return SideStatus("sees_nobody", since)
        if last is not None and len(last) > 3 and last[3] == 0:
            return SideStatus("sees_no_screen", since)
        return SideStatus("connected", since)

    def ticket(self, token: str, now: datetime | None = None) -> SideTicket:
        """The session the side token opens: TokenRefused (no such token), SessionGone (the exam is over)."""
        moment = now or datetime.now(UTC)
        with self.store.sessions() as db:
            row = self._row(db, token)
            status = Status(row.status)
            if status not in LIVE_STATES or row.recording_sealed_at is not None:
                raise SessionGone("the exam is over: the phone's camera is no longer needed")
            started = row.live_started_at
            if started is not None and started.tzinfo is None:
                started = started.replace(tzinfo=UTC)
            elapsed = None if started is None else round((moment - started).total_seconds(), 3)
            return SideTicket(row.id, status, elapsed)

    def recording_session(self, token: str) -> str:
        """The session a phone sends its side recording to (`LiveParts` says whether a part is still taken);
        ConsentRequired before the candidate accepted the proctoring terms."""
        with self.store.sessions() as db:
            row = self._row(db, token)
            if row.consent != "accepted":
                raise ConsentRequired("the candidate has not accepted the proctoring terms yet")
            return row.id

    @staticmethod
    def _row(db: Session, token: str) -> SessionRow:
        row = db.scalars(select(SessionRow).where(SessionRow.side_token_hash == token_hash(token))).first()
        if row is None:
            raise TokenRefused("this side camera link is not valid")
        return row


@dataclass
class _ScreenStill:
    """The shared screen's latest keyframe of a session (grey, at most SCREEN_STILL_WIDTH wide); its features are
    found when a side picture first needs them."""

    at_s: float
    grey: npt.NDArray[np.uint8]
    thumb: npt.NDArray[np.int16]
    features: Any = None


class SideViews:
    """The side camera's analysis, shared by the threads that take parts: one `SideViewer`, made on first use and
    used under a lock (its models are not thread-safe; a picture every 2 s per phone keeps it idle). Where the exam
    records the shared screen, the screen's latest keyframe is kept here (in memory, for at most MAX_SCREENS
    sessions) and looked for in each side picture by the calling thread's own `ScreenFinder`
    (`proctor/analyzers/screenview.py`), outside the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._viewer: Any = None
        self._local = threading.local()  # a ScreenFinder per thread (OpenCV's ORB and matcher are not shared)
        self._screens: OrderedDict[str, _ScreenStill] = OrderedDict()

    def screen_shown(self, session_id: str, picture: Picture) -> None:
        """The shared screen's latest keyframe of a session with a side camera (its parts' check decoded it)."""
        height, width = picture.rgb.shape[:2]
        size = (SCREEN_STILL_WIDTH, max(2, round(height * SCREEN_STILL_WIDTH / width)))
        grey = cv2.cvtColor(picture.rgb, cv2.COLOR_RGB2GRAY)
        if width > SCREEN_STILL_WIDTH:
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        thumb = np.asarray(cv2.resize(grey, (32, 18), interpolation=cv2.INTER_AREA), dtype=np.int16)
        with self._lock:
            kept = self._screens.get(session_id)
            if kept is not None and float(np.abs(kept.thumb - thumb).mean()) < SCREEN_UNCHANGED:
                kept.at_s = picture.at_s  # the same page as before: its features stay
            else:
                self._screens[session_id] = _ScreenStill(picture.at_s, np.asarray(grey, dtype=np.uint8), thumb)
            self._screens.move_to_end(session_id)
            while len(self._screens) > MAX_SCREENS:
                self._screens.popitem(last=False)

    def see(self, session_id: str, pictures: Sequence[Picture]) -> list[list[float]]:
        """`[at_s, people, hands, screen]` for each picture; `screen` is 1 (the shared screen in view), 0 (not in
        view) or -1 (not checked: no shared screen's picture within SCREEN_WITHIN_S)."""
        if not pictures:
            return []
        with self._lock:  # the mediapipe models: one at a time
            if self._viewer is None:
                from proctor.analyzers.sideview import SideViewer  # mediapipe: loaded when a phone sends

                self._viewer = SideViewer()
            views = [self._viewer.view(picture.rgb) for picture in pictures]
            still = self._screens.get(session_id)
        screens = [self._screen_in_view(still, picture) for picture in pictures]  # OpenCV: in this thread
        return [
            [round(picture.at_s, 3), float(view.people), float(view.hands), screen]
            for picture, view, screen in zip(pictures, views, screens, strict=True)
        ]

    def _screen_in_view(self, still: _ScreenStill | None, picture: Picture) -> float:
        if still is None or abs(still.at_s - picture.at_s) > SCREEN_WITHIN_S:
            return -1.0
        finder = getattr(self._local, "finder", None)
        if finder is None:
            finder = self._local.finder = ScreenFinder()
        if still.features is None:  # found once per page (two threads at once would find the same)
            still.features = finder.screen(still.grey)
        phone = finder.phone(np.asarray(cv2.cvtColor(picture.rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8))
        return 1.0 if finder.find(still.features, phone).found else 0.0


@dataclass(frozen=True)
class SideEvent:
    """One side camera event before it becomes a row."""

    type: EventType
    start_s: float
    end_s: float
    technical: bool
    severity: str
    measurements: dict[str, Any]


def side_events(db: Session, row: SessionRow, policy: dict[str, Any], end_s: float) -> list[SideEvent]:
    """The side camera's events of a finished session (see the module); `end_s` is where the session ends."""
    config = policy_from_dict(policy).side_camera
    runs = db.scalars(
        select(RecordingRunRow).where(RecordingRunRow.session_id == row.id, RecordingRunRow.track == TRACK)
    ).all()
    if not runs:
        if not config.required:
            return []
        return [SideEvent(EventType.SIDE_CAMERA_MISSING, 0.0, end_s, True, "low", {"runs": 0})]
    views = [
        view
        for data in db.scalars(
            select(ChunkRow.views).where(ChunkRow.run_id.in_([run.id for run in runs]), ChunkRow.views.is_not(None))
        )
        if data
        for view in data
    ]
    views.sort(key=lambda view: view[0])
    points = sorted(
        [float(v[0]) for v in views] + [run.start_s for run in runs] + [run.end_s for run in runs if run.end_s]
    )
    events = _presence(points, config, max(end_s, points[-1]))
    events += _blind(views, config)
    events += _no_screen(views, config)
    events += _people(views, config)
    return sorted(events, key=lambda event: event.start_s)


def _presence(points: list[float], config: SideCameraConfig, end_s: float) -> list[SideEvent]:
    """Joined at the first moment it recorded; left and back around each stretch without its recording."""
    events = [SideEvent(EventType.SIDE_CAMERA_JOINED, points[0], points[0], True, "low", {})]
    for before, after in zip(points, points[1:], strict=False):
        if after - before > config.max_gap_s:
            gap = {"gap_s": round(after - before, 3)}
            events.append(SideEvent(EventType.SIDE_CAMERA_LEFT, before, after, True, "low", gap))
            events.append(SideEvent(EventType.SIDE_CAMERA_BACK, after, after, True, "low", {}))
    if end_s - points[-1] > config.max_gap_s:
        events.append(
            SideEvent(
                EventType.SIDE_CAMERA_LEFT, points[-1], end_s, True, "low", {"gap_s": round(end_s - points[-1], 3)}
            )
        )
    return events


def _blind(views: list[list[float]], config: SideCameraConfig) -> list[SideEvent]:
    nobody = sum(1 for view in views if view[1] < 1)
    return _mostly_without(views, nobody, "with_nobody", EventType.SIDE_CAMERA_BLIND, config)


def _no_screen(views: list[list[float]], config: SideCameraConfig) -> list[SideEvent]:
    """The shared screen was checked in enough pictures and is missing from most of them (as `_blind` for people)."""
    checked = [view for view in views if len(view) > 3 and view[3] >= 0]
    missing = sum(1 for view in checked if view[3] < 1)
    return _mostly_without(checked, missing, "without_screen", EventType.SIDE_CAMERA_NO_SCREEN, config)


def _mostly_without(
    pictures: list[list[float]], missing: int, counted_as: str, event_type: EventType, config: SideCameraConfig
) -> list[SideEvent]:
    """One event over `pictures` when there are enough of them and `missing` of them (what the phone should see
    was not there) reach the policy's share."""
    if len(pictures) < MIN_PICTURES:
        return []
    share = missing / len(pictures)
    if share < config.blind_share:
        return []
    measurements = {"pictures": len(pictures), counted_as: missing, "share": round(share, 3)}
    end = pictures[-1][0] + PICTURE_S
    return [SideEvent(event_type, pictures[0][0], end, True, "medium", measurements)]


def _people(views: list[list[float]], config: SideCameraConfig) -> list[SideEvent]:
    """Two pictures in a row (or more) with two or more people in view."""
    events = []
    stretch: list[list[float]] = []
    for view in [*views, [float("inf"), 0.0, 0.0]]:
        crowded = view[1] >= 2 and (not stretch or view[0] - stretch[-1][0] <= config.max_gap_s)
        if crowded:
            stretch.append(view)
            continue
        if len(stretch) >= 2:
            measurements = {"pictures": len(stretch), "max_people": int(max(v[1] for v in stretch))}
            end = stretch[-1][0] + PICTURE_S
            events.append(SideEvent(EventType.SIDE_CAMERA_PEOPLE, stretch[0][0], end, False, "medium", measurements))
        stretch = [view] if view[1] >= 2 else []
    return events
