"""One live exam session in the web process: its peer connection, the candidate's control sockets, the
intake of its tracks, and its lifecycle (identity check → room scan → exam → submitted).

Everything here runs on the event loop and only moves bytes: frames are sampled at the analysis rate
and handed to the session's lane as I420 planes, audio is cut into analysis windows; analysis runs in
worker processes and every database write runs on the manager's writer thread. A check that fails
never blocks the candidate: after its retries the exam goes on and the session is marked for the
examiner.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from starlette.websockets import WebSocket, WebSocketState

from proctor.events.vocabulary import BROWSER
from proctor.frames import AUDIO_SAMPLE_RATE, I420Picture
from proctor.live.messages import (
    AudioIn,
    Calibrate,
    Calibrated,
    CloseSession,
    EventClosed,
    EventOpened,
    IdentityChecked,
    Interrupted,
    OpenSession,
    PageEvent,
    Resumed,
    ScanBegin,
    ScanEnd,
    ScanFinished,
    ScanProgress,
    ScanSettle,
    SessionClosed,
    SessionFailed,
    SessionOpened,
    VideoIn,
)
from proctor.policy import policy_from_dict
from proctor.recording.signature import Signature, signature_of
from proctor.roomscan.schedule import ScanKind, ScanRequest, scan_schedule
from proctor.sessions.errors import StateError
from proctor.sessions.lifecycle import Status
from proctor.sessions.live import LiveTicket, SessionGone
from proctor.stream import AudioWindower, FrameSampler
from web.live.door import DoorPictures
from web.live.lean import Received, analysis_stream, with_packet_time
from web.live.notices import notice_for

if TYPE_CHECKING:
    from web.live.manager import LiveManager

logger = logging.getLogger(__name__)

IDENTITY_TIMEOUT_S = 90.0
"""With no face to check for this long, the exam goes on (identity not checked, marked for the examiner)."""
ID_CARD_STEP_S = 300.0
"""The live identity check waits at most this long for the page's ID-card step (`id_card_done`)."""
REACHED_EVERY_S = 5.0
SIGNATURE_EVERY_S = 0.5
"""A signature of what the analysis received this often (the seal compares each recording sample with those within
a second of it)."""
SIGNATURES_EVERY_S = 10.0
"""The signatures are stored this often (and when the session ends)."""
SCAN_START_WITHIN_S = 120.0
"""A requested room scan not started within this long is over (incomplete); once started, the policy's time
limit applies. The page may first finish what the candidate is doing (the calibration before a pre-exam scan)."""


class OfferError(ValueError):
    """An offer that cannot start a session (malformed SDP, no camera track): 400."""


class ConsentMissing(PermissionError):
    """Media before the candidate accepted the proctoring terms: 403."""


PAGE_EVENT_DETAIL = {"display", "action", "reason"}
"""The facts a page may attach to a page event (short strings)."""


@dataclass
class ActiveScan:
    """A room-scan request being answered: which attempt, whether the candidate has started turning."""

    request: ScanRequest
    attempt: int
    started_s: float | None = None
    timer: asyncio.TimerHandle | None = None


class TrackClock:
    """Session time of a track's frames: its first frame is placed by arrival, the rest by media timestamps."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self._first: tuple[float, float] | None = None

    def time_of(self, frame: av.VideoFrame | av.AudioFrame) -> float:
        pts_s = float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base else 0.0
        if self._first is None:
            self._first = (self.session.arrived(time.time()), pts_s)
        offset, first_pts = self._first
        return offset + (pts_s - first_pts)


class LiveSession:
    """A live session served by this process."""

    def __init__(self, manager: LiveManager, ticket: LiveTicket) -> None:
        self.manager = manager
        self.id = ticket.session_id
        self.ticket = ticket
        self.policy = policy_from_dict(ticket.policy, source="exam policy")
        self.status = ticket.status
        self.origin: float | None = ticket.started_at.timestamp() if ticket.started_at else None
        self.resumed_after_restart = ticket.started_at is not None
        self.peer: RTCPeerConnection | None = None
        self.sockets: set[WebSocket] = set()
        self.lane = manager.pool.lane(self.id)
        self.identity_failures = 0
        self.identity: str | None = ticket.identity
        self.calibration: dict[str, Any] | None = None
        self.consent = ticket.consent
        self.scan: ActiveScan | None = None
        self.card_pending = self.policy.identity.id_document == "on" and self.status == Status.SCHEDULED
        """The exam asks for the ID card and the page's card step is not over: the live identity check waits for it
        (the candidate holds the card before the camera; the card check needs the session in its identity check)."""
        self.door = DoorPictures()
        """The server's own pictures of the candidate while the ID card may be shown (the card check's live face)."""
        self.exam_started_s: float | None = None
        self.closing = False
        self.closed = asyncio.Event()
        self.analysis_ready = False
        """The worker has the session's models loaded and warm (frames before that may be dropped)."""
        self._last_video_s = ticket.last_s
        self._last_audio_s = ticket.last_s
        self._windower: AudioWindower | None = None
        self.received = Received()
        self._no_video_told = False
        self._last_reached = 0.0
        self._seen: list[Signature] = []
        self._last_signature_s = -1e9
        self._timers: list[asyncio.TimerHandle] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.lane.send(OpenSession(self.id, ticket.policy, ticket.embedding, ticket.next_number, ticket.photo))
        self._spawn(self._watch())
        if self.status == Status.IDENTITY_CHECK:
            self._await_identity()
        elif self.status == Status.ROOM_SCAN:
            self._request_pre_exam_scan()
        elif self.status == Status.IN_PROGRESS:
            self._start_exam_clock()

    @property
    def at_the_door(self) -> bool:
        """The exam asks for the ID card and the session is not past its identity check (the card may come)."""
        return self.policy.identity.id_document == "on" and self.status in (Status.SCHEDULED, Status.IDENTITY_CHECK)

    # -- time -------------------------------------------------------------------------------------

    def arrived(self, wall: float) -> float:
        """Session time of media arriving now; the first media of the session fixes time zero."""
        if self.origin is None:
            self.origin = wall
            self.manager.write(self.manager.records.start, self.id, datetime.fromtimestamp(wall, UTC))
        return wall - self.origin

    def now_s(self) -> float:
        return time.time() - self.origin if self.origin is not None else 0.0

    # -- connection -------------------------------------------------------------------------------

    async def connect(self, offer: RTCSessionDescription) -> RTCSessionDescription:
        """Answer the candidate's offer; a newer connection replaces an older one (the page was reloaded)."""
        if "m=video" not in offer.sdp:
            raise OfferError("the offer carries no camera video (m=video)")
        if self.consent != "accepted":
            raise ConsentMissing("the candidate has not accepted the proctoring terms: send consent first")
        if self.peer is not None:
            old, self.peer = self.peer, None
            logger.info("session %s: a new connection replaces the previous one", self.id)
            await old.close()
        peer = RTCPeerConnection(self.manager.rtc_configuration)
        self.peer = peer

        @peer.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            clock = TrackClock(self)
            consume = self._video if track.kind == "video" else self._audio
            self._spawn(consume(track, clock))

        @peer.on("connectionstatechange")
        async def on_state() -> None:
            logger.info("session %s: connection %s", self.id, peer.connectionState)

        try:
            await peer.setRemoteDescription(offer)
            await peer.setLocalDescription(await peer.createAnswer())
        except Exception as exc:  # aiortc's SDP parser raises anything from ValueError to AssertionError
            await peer.close()
            self.peer = None
            reason = str(exc) or type(exc).__name__
            raise OfferError(f"the offer is not a usable SDP ({reason})") from exc
        if self.status == Status.SCHEDULED:
            await self.move(Status.IDENTITY_CHECK, {"reason": "the candidate connected"})
            self._await_identity()
        local = peer.localDescription
        return RTCSessionDescription(with_packet_time(local.sdp), local.type)

    async def _video(self, track: MediaStreamTrack, clock: TrackClock) -> None:
        sampler = FrameSampler(self.policy.analysis_rate_hz)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.VideoFrame):
                continue
            t = clock.time_of(frame)
            self._after_restart()
            if self._gap(self._last_video_s, t):
                self.lane.send(Interrupted(self.id, self._last_video_s or 0.0, t, video=True, audio=False))
            self._last_video_s = t
            self._no_video_told = False
            self.received.video(t, frame.width, frame.height)
            self._reached(t)
            scanning = self.scan is not None and self.scan.started_s is not None
            sampler.set_rate(self.policy.room_scan.analysis_rate_hz if scanning else self.policy.analysis_rate_hz)
            if self.closing or not sampler.due(t) or frame.width % 2 or frame.height % 2:
                continue
            planes = frame.to_ndarray(format="yuv420p")
            if t - self._last_signature_s >= SIGNATURE_EVERY_S:
                self._last_signature_s = t
                self._keep_signature(t, signature_of(np.asarray(planes[: frame.height], dtype=np.uint8)))
            yuv = planes.tobytes()
            if self.at_the_door and self.door.due(t):
                self.door.offer(I420Picture(t, frame.width, frame.height, yuv))
            self.lane.video(VideoIn(self.id, t, frame.width, frame.height, yuv))

    async def _audio(self, track: MediaStreamTrack, clock: TrackClock) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_SAMPLE_RATE)
        windower = self._windower = AudioWindower(self.policy.audio.window_s)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame) or self.closing:
                continue
            t = clock.time_of(frame)
            self._after_restart()
            if self._gap(self._last_audio_s, t):
                self.lane.send(Interrupted(self.id, self._last_audio_s or 0.0, t, video=False, audio=True))
            self._last_audio_s = t + frame.samples / frame.sample_rate
            self.received.audio(frame.samples / frame.sample_rate)
            for out in resampler.resample(frame):
                samples = out.to_ndarray().reshape(-1)
                for window in windower.add(t, samples):
                    self.lane.send(AudioIn(self.id, window.timestamp_s, window.samples.tobytes()))
                t += len(samples) / AUDIO_SAMPLE_RATE

    def _keep_signature(self, t: float, thumb: bytes) -> None:
        """Remember what the analysis received (the seal checks the kept recording with it), stored in batches."""
        self._seen.append(Signature(t, thumb))
        if t - self._seen[0].at_s >= SIGNATURES_EVERY_S:
            self._store_signatures()

    def _store_signatures(self) -> None:
        if self._seen:
            batch, self._seen = self._seen, []
            self.manager.write(self.manager.records.signatures, self.id, batch)

    def _gap(self, last: float | None, t: float) -> bool:
        """Nothing of a track arrived since `last` for longer than the policy allows: a technical gap (this
        process sees every frame; the worker only the sampled ones, so the gap is told to it)."""
        return last is not None and t - last > self.policy.max_video_gap_s

    def _after_restart(self) -> None:
        """The first media after the server restarted: events it left open end where its media ended."""
        if self.resumed_after_restart:
            self.resumed_after_restart = False
            self.manager.write(self.manager.records.close_dangling, self.id)

    async def _watch(self) -> None:
        """While connected: tell the candidate once when no video arrives (the gap is recorded when it ends)."""
        while not self.closing:
            await asyncio.sleep(1.0)
            if self.peer is None or self.origin is None or self._no_video_told:
                continue
            last = self._last_video_s if self._last_video_s is not None else 0.0
            if self.now_s() - last > self.policy.max_video_gap_s:
                self._no_video_told = True
                notice = notice_for("video_lost")
                if notice is not None:
                    message = {"type": "notice", "key": notice.key, "text": notice.text, "event": "video_lost"}
                    self.broadcast(message)

    def _reached(self, t: float) -> None:
        if t - self._last_reached >= REACHED_EVERY_S:
            self._last_reached = t
            self.manager.write(self.manager.records.reached, self.id, t)

    # -- the candidate's page ---------------------------------------------------------------------

    async def attach(self, socket: WebSocket) -> None:
        self.sockets.add(socket)
        await self._send(socket, self.welcome())

    def detach(self, socket: WebSocket) -> None:
        self.sockets.discard(socket)

    def welcome(self) -> dict[str, Any]:
        return {
            "type": "welcome",
            "session_id": self.id,
            "node": self.manager.node,
            "state": self.status.value,
            "session_time_s": round(self.now_s(), 3) if self.origin is not None else None,
            "exam": {"title": self.ticket.exam_title, "content_url": self.ticket.content_url},
            "candidate": self.ticket.candidate_name,
            "ice_servers": self.manager.ice_servers,
            "scan": self._scan_message() if self.scan is not None else None,
            "analysis_ready": self.analysis_ready,
            "consent": self.consent,
            "terms": self.manager.terms,
            "identity": self.identity,
            "calibration": self.calibration,
            "policy": self.page_policy(),
            "id_card_pending": self.card_pending,
            "analysis_stream": analysis_stream(self.policy),
        }

    def page_policy(self) -> dict[str, Any]:
        """What of the exam's policy the page acts on."""
        policy = self.policy
        return {
            "pre_exam_scan": policy.room_scan.pre_exam,
            "scan_time_limit_s": policy.room_scan.time_limit_s,
            "identity_attempts": policy.identity.live_attempts,
            "id_document": policy.identity.id_document == "on",
            "identity_timeout_s": IDENTITY_TIMEOUT_S,  # the page counts down the check's time from it
            "calibration_s": policy.head_pose.calibration_s,
            "screen_share": policy.browser.screen_share,
            "fullscreen": policy.browser.fullscreen,
            "integrity_events": policy.browser.integrity_events,
            "duration_min": self.ticket.duration_min,
        }

    async def on_client(self, message: dict[str, Any]) -> None:
        """A message of the candidate's page."""
        kind = message.get("type")
        if kind == "consent":
            await self._consent(message)
        elif kind == "calibrate":
            self._calibrate()
        elif kind == "page_event":
            self._page_event(message)
        elif kind == "scan_started":
            self._scan_started()
        elif kind == "scan_finished":
            self._scan_attempt_over("the candidate finished turning")
        elif kind == "finish":
            await self.finish("the candidate finished the exam")
        elif kind == "id_card_done":
            self._card_step_over()
        elif kind == "identity_retry":
            if self.status == Status.IDENTITY_CHECK:  # the next check is the retry; failures still count
                self.broadcast({"type": "identity", "state": "checking"})
        elif kind == "ping":
            at = round(self.now_s(), 3) if self.origin is not None else None  # no media yet: no session time
            self.broadcast({"type": "pong", "id": message.get("id"), "session_time_s": at})
        else:
            self.broadcast({"type": "error", "message": f"unknown message type {kind!r}"})

    async def _consent(self, message: dict[str, Any]) -> None:
        accepted = message.get("accepted")
        terms = message.get("terms")
        if not isinstance(accepted, bool) or not isinstance(terms, str) or not 0 < len(terms) <= 64:
            self.broadcast({"type": "error", "message": "consent takes accepted (true/false) and terms (a name)"})
            return
        if terms not in self.manager.terms.values():  # only the words this platform shows can be agreed to
            self.broadcast({"type": "error", "message": "these are not the terms this exam page shows: reload it"})
            return
        at = round(self.now_s(), 3) if self.origin is not None else None
        try:
            status = await self.manager.run(self.manager.records.consent, self.id, accepted, at, terms)
        except (StateError, SessionGone) as exc:
            self.broadcast({"type": "error", "message": str(exc)})
            return
        self.consent = "accepted" if accepted else "declined"
        self.broadcast({"type": "consent", "consent": self.consent})
        if status == Status.DECLINED:
            self.status = status
            self.broadcast({"type": "state", "state": status.value, "session_time_s": at})
            self.closing = True
            self.lane.send(CloseSession(self.id, 0.0))

    def _calibrate(self) -> None:
        """The page asks the candidate to look at the screen: the neutral head pose is learned from now."""
        if self.origin is None or self.closing:
            self.broadcast({"type": "error", "message": "calibration needs the camera connected"})
            return
        at = round(self.now_s(), 3)
        self.lane.send(Calibrate(self.id, at))
        seconds = self.policy.head_pose.calibration_s
        self.broadcast({"type": "calibration", "state": "running", "from_s": at, "seconds": seconds})

    def _page_event(self, message: dict[str, Any]) -> None:
        """A fact the page saw (tab hidden, focus lost, ...) with its times on the session's timeline."""
        kind, start, end = message.get("event"), message.get("start_s"), message.get("end_s")
        detail = message.get("detail") or {}
        problem = None
        if kind not in {t.value for t in BROWSER}:
            problem = f"page events are {', '.join(sorted(t.value for t in BROWSER))}"
        elif not isinstance(start, int | float) or not isinstance(end, int | float) or not 0 <= start <= end:
            problem = "a page event takes start_s <= end_s, in seconds of session time"
        elif end > self.now_s() + 2.0:
            problem = "a page event cannot end in the future"
        elif not isinstance(detail, dict) or any(
            k not in PAGE_EVENT_DETAIL or not isinstance(v, str) or len(v) > 64 for k, v in detail.items()
        ):
            problem = f"page event detail takes short strings for {', '.join(sorted(PAGE_EVENT_DETAIL))}"
        elif self.status != Status.IN_PROGRESS or self.closing:
            problem = "page events are reported during the exam"
        if problem is not None or not isinstance(start, int | float) or not isinstance(end, int | float):
            self.broadcast({"type": "error", "message": problem or "page event times are numbers"})
            return
        facts: dict[str, str | float] = {str(k): str(v) for k, v in detail.items()}
        self.lane.send(PageEvent(self.id, str(kind), float(start), float(end), facts))

    def broadcast(self, message: dict[str, Any]) -> None:
        for socket in list(self.sockets):
            self._spawn(self._send(socket, message))

    async def _send(self, socket: WebSocket, message: dict[str, Any]) -> None:
        if socket.client_state != WebSocketState.CONNECTED:
            self.sockets.discard(socket)
            return
        try:
            await socket.send_json(message)
        except (RuntimeError, OSError):
            self.sockets.discard(socket)

    # -- lifecycle --------------------------------------------------------------------------------

    async def move(self, target: Status, detail: dict[str, Any], *, ledger: bool = False) -> None:
        at = round(self.now_s(), 3) if self.origin is not None else None
        await self.manager.run(self.manager.records.move_to, self.id, target, at, detail, ledger=ledger)
        self.status = target
        if not self.at_the_door:
            self.door.clear()
        self.broadcast({"type": "state", "state": target.value, "session_time_s": at})

    def on_worker(self, message: Any) -> None:
        """What the worker said about this session (called on the event loop)."""
        if isinstance(message, EventOpened):
            records = self.manager.records
            stored = self.manager.write(
                records.event_opened, self.id, message.event, message.detected_s, message.evidence
            )
            self._spawn(self._tell_when_stored(message, asyncio.wrap_future(stored)))
        elif isinstance(message, EventClosed):
            self.manager.write(self.manager.records.event_closed, self.id, message.event, message.evidence)
        elif isinstance(message, IdentityChecked):
            self._spawn(self._identity(message))
        elif isinstance(message, ScanProgress):
            self._scan_progress(message)
        elif isinstance(message, ScanFinished):
            self._spawn(self._scan_finished(message))
        elif isinstance(message, Calibrated):
            self._spawn(self._calibrated(message))
        elif isinstance(message, SessionOpened):
            self.analysis_ready = True
            self.broadcast({"type": "analysis_ready"})
        elif isinstance(message, SessionClosed):
            self._spawn(self._closed(message))
        elif isinstance(message, SessionFailed):
            logger.error("session %s: live analysis failed: %s", self.id, message.message)
            self._spawn(self.reopen())

    async def _tell_when_stored(self, opened: EventOpened, stored: asyncio.Future[Any]) -> None:
        """Tell the candidate once the event is stored (the write is queued in order with the event's close)."""
        await stored
        notice = notice_for(opened.event["type"])
        if notice is not None:
            kind = opened.event["type"]
            self.broadcast(
                {
                    "type": "notice",
                    "key": notice.key,
                    "text": notice.text,
                    "event": kind,
                    "at_s": opened.event["start_s"],
                }
            )

    async def _calibrated(self, done: Calibrated) -> None:
        result = {"samples": done.samples, "yaw_deg": round(done.yaw_deg, 1), "pitch_deg": round(done.pitch_deg, 1)}
        self.calibration = {"type": "calibration", "state": "done" if done.samples else "no_face", **result}
        self.broadcast(self.calibration)
        await self.manager.run(self.manager.records.note, self.id, done.at_s, {"calibration": result}, ledger=False)

    async def reopen(self) -> None:
        """Start the analysis afresh (its worker failed or was replaced); event numbers go on after the stored ones."""
        number = await self.manager.run(self.manager.records.next_number, self.id)
        self.analysis_ready = False
        self.lane.send(OpenSession(self.id, self.ticket.policy, self.ticket.embedding, number, self.ticket.photo))
        if self._last_video_s is not None:
            self.lane.send(Resumed(self.id, self._last_video_s))

    async def _identity(self, check: IdentityChecked) -> None:
        if self.status != Status.IDENTITY_CHECK or self.card_pending:  # the card before the camera is no check
            return
        if check.match:
            await self._identity_done("verified", check)
            return
        self.identity_failures += 1
        left = self.policy.identity.live_attempts - self.identity_failures
        self.broadcast(
            {
                "type": "identity",
                "state": "mismatch",
                "attempt": self.identity_failures,
                "retries_left": max(0, left),
                "advice": "face_light_distance",
            }
        )
        if left <= 0:
            await self._identity_done("unverified", check)

    def _await_identity(self) -> None:
        """Give the identity check its time; without a reference photo there is nothing to check against, and the
        exam goes on at once (identity not checked: technical, never the candidate's fault). While the page's ID-card
        step is open the check waits for it (at most ID_CARD_STEP_S)."""
        if self.card_pending:
            self._later(ID_CARD_STEP_S, self._card_step_timeout)
        elif self.ticket.embedding is None:
            self._later(0.0, self._identity_without_photo)
        else:
            self._later(IDENTITY_TIMEOUT_S, self._identity_timeout)

    def _card_step_over(self) -> None:
        """The page's ID-card step is over (sent, given up, or refused): the live identity check starts."""
        if not self.card_pending:
            return
        self.card_pending = False
        if self.status == Status.IDENTITY_CHECK:
            self._await_identity()

    async def _card_step_timeout(self) -> None:
        if self.card_pending:
            logger.info(
                "session %s: no end of the ID-card step in %.0f s; the identity check starts", self.id, ID_CARD_STEP_S
            )
            self._card_step_over()

    async def _identity_without_photo(self) -> None:
        if self.status == Status.IDENTITY_CHECK:
            await self._identity_done("not_checked", None, reason="no reference photo")

    async def _identity_timeout(self) -> None:
        if self.status == Status.IDENTITY_CHECK:  # checks that failed before the time ran out still count
            await self._identity_done("unverified" if self.identity_failures else "not_checked", None)

    async def _identity_done(self, outcome: str, check: IdentityChecked | None, reason: str | None = None) -> None:
        detail: dict[str, Any] = {"identity": outcome, "failed_checks": self.identity_failures}
        if reason is not None:
            detail["reason"] = reason
        if check is not None:
            detail |= {"distance": round(check.distance, 3), "at_s": round(check.at_s, 3)}
        await self.manager.run(self.manager.records.set_identity, self.id, outcome)
        self.identity = outcome
        self.broadcast({"type": "identity", "state": outcome})
        if self.policy.room_scan.pre_exam:
            await self.move(Status.ROOM_SCAN, detail, ledger=True)
            self._request_pre_exam_scan()
        else:
            await self.move(Status.IN_PROGRESS, detail, ledger=True)
            self._start_exam_clock()

    def _request_pre_exam_scan(self) -> None:
        config = self.policy.room_scan
        request = ScanRequest(
            0, ScanKind.PRE_EXAM, self.now_s(), config.time_limit_s, 1 + config.retries, config.min_coverage_deg
        )
        self._ask_scan(request, attempt=1)

    def _start_exam_clock(self) -> None:
        self.exam_started_s = self.now_s()
        minutes = self.ticket.duration_min
        if not minutes:
            return
        config = self.policy.room_scan.model_copy(update={"pre_exam": False})
        seed = int(self.id.replace("-", "")[:8], 16)
        for request in scan_schedule(config, minutes * 60.0, seed):
            self._later(request.at_s, functools.partial(self._in_exam_scan, request))

    async def _in_exam_scan(self, request: ScanRequest) -> None:
        if self.status != Status.IN_PROGRESS or self.scan is not None or self.closing:
            return
        at = self.now_s()
        moved = ScanRequest(
            request.number, request.kind, at, request.time_limit_s, request.attempts, request.min_coverage_deg
        )
        self._ask_scan(moved, attempt=1)

    def _ask_scan(self, request: ScanRequest, attempt: int) -> None:
        """Ask for a scan: the candidate has `SCAN_START_WITHIN_S` to start turning, then the time limit."""
        self.scan = ActiveScan(request, attempt)
        self.scan.timer = self._later(SCAN_START_WITHIN_S, self._scan_timed_out)
        self.broadcast(self._scan_message())

    def _scan_message(self) -> dict[str, Any]:
        scan = self.scan
        if scan is None:
            return {}
        return {
            "type": "scan_request",
            "request": scan.request.to_json(),
            "attempt": scan.attempt,
            "started": scan.started_s is not None,
        }

    def _scan_started(self) -> None:
        scan = self.scan
        if scan is None or scan.started_s is not None:
            return
        scan.started_s = self.now_s()
        self.lane.send(ScanBegin(self.id, scan.started_s))
        if scan.timer is not None:
            scan.timer.cancel()
            scan.timer = self._later(scan.request.time_limit_s, self._scan_timed_out)

    def _scan_progress(self, progress: ScanProgress) -> None:
        scan = self.scan
        if scan is None:
            return
        self.broadcast(
            {
                "type": "scan_progress",
                "coverage_deg": round(progress.coverage_deg, 1),
                "min_coverage_deg": scan.request.min_coverage_deg,
            }
        )
        if progress.complete:
            self._scan_attempt_over("the turn is complete")

    async def _scan_timed_out(self) -> None:
        self._scan_attempt_over("the time limit passed")

    def _scan_attempt_over(self, why: str) -> None:
        scan = self.scan
        if scan is None or scan.timer is None:
            return
        scan.timer.cancel()
        scan.timer = None  # the attempt waits for its report
        logger.info("session %s: room scan %d attempt %d over: %s", self.id, scan.request.number, scan.attempt, why)
        self.lane.send(ScanEnd(self.id, self.now_s(), scan.request.to_json()))

    async def _scan_finished(self, finished: ScanFinished) -> None:
        scan = self.scan
        if scan is None or scan.request.to_json() != finished.request:
            return
        report = finished.report or {}
        result: dict[str, Any] = {"number": scan.request.number, "kind": scan.request.kind.value}
        result |= {"attempt": scan.attempt, "complete": finished.complete}
        result["coverage_deg"] = round(float(report.get("coverage_deg", 0.0)), 1)
        result["started_s"] = round(scan.started_s, 3) if scan.started_s is not None else None
        completed = report.get("completed_at_s")
        result["completed_at_s"] = round(float(completed), 3) if completed is not None else None
        if not finished.complete and scan.attempt < scan.request.attempts:
            self.broadcast({"type": "scan_result", **result, "retry": True})
            self._ask_scan(scan.request, scan.attempt + 1)
            return
        self.scan = None
        self.lane.send(ScanSettle(self.id, scan.request.to_json()))
        self.broadcast({"type": "scan_result", **result, "retry": False})
        if scan.request.kind == ScanKind.PRE_EXAM and self.status == Status.ROOM_SCAN:
            await self.move(Status.IN_PROGRESS, {"room_scan": result}, ledger=True)
            self._start_exam_clock()
        else:
            await self.manager.run(self.manager.records.note, self.id, self.now_s(), {"room_scan": result})

    async def finish(self, why: str) -> None:
        """End the exam: the analysis closes its events, the result is stored and proven, the candidate told."""
        if self.closing:
            return
        self.closing = True
        logger.info("session %s: finishing (%s)", self.id, why)
        if self.scan is not None:
            self._scan_attempt_over("the exam finished")
            self.lane.send(ScanSettle(self.id, self.scan.request.to_json()))
            self.scan = None
        end = self.now_s()
        self._store_signatures()
        if self._windower is not None and (rest := self._windower.flush()) is not None:
            self.lane.send(AudioIn(self.id, rest.timestamp_s, rest.samples.tobytes()))
        if self.origin is not None:  # a track that stopped (or never came) before the exam was finished
            for last, video in ((self._last_video_s, True), (self._last_audio_s, False)):
                if last is None or self._gap(last, end):
                    self.lane.send(Interrupted(self.id, last or 0.0, end, video=video, audio=not video))
        self.lane.send(CloseSession(self.id, end))

    async def _closed(self, closed: SessionClosed) -> None:
        if self.status == Status.DECLINED:  # nothing was recorded: there is no result to keep
            await self.shutdown()
            return
        stats = self.lane.stats  # frames the analysis could not keep up with are part of the record
        report = closed.report | {
            "live_frames": {"analysed": stats.sent, "dropped": stats.dropped},
            "received": self.received.to_json(),
        }
        await self.manager.run(self.manager.records.finish, self.id, closed.events, closed.score, report, closed.faces)
        receipt = await self.manager.run(self.manager.receipt, self.id)
        self.status = Status.ANALYSED
        self.broadcast({"type": "finished", "receipt": receipt})
        await self.shutdown()

    async def shutdown(self) -> None:
        """Release the connection, timers and lane (the session stays in the database)."""
        self._store_signatures()
        for timer in self._timers:
            timer.cancel()
        if self.peer is not None:
            peer, self.peer = self.peer, None
            await peer.close()
        self.manager.forget(self.id)
        self.closed.set()

    # -- helpers ----------------------------------------------------------------------------------

    def _later(self, delay_s: float, action: Callable[[], Awaitable[None]]) -> asyncio.TimerHandle:
        loop = asyncio.get_running_loop()
        timer = loop.call_later(max(0.0, delay_s), lambda: self._spawn(action()))
        self._timers.append(timer)
        return timer

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.error("live session task failed", exc_info=error)
