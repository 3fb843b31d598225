"""A live analysis worker process: the models loaded once, one `StreamAnalysis` per session it serves.

The web process sends it frames, audio windows and controls of several sessions on one queue; the
worker answers on a shared queue with a credit per frame and with everything a session should hear or
store at once: events as they open and close, identity checks, room-scan progress and results.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from proctor.analyze import AnalysisResult, model_versions
from proctor.analyzers.faces import FaceBox, FaceDetector, FacesConfig
from proctor.analyzers.identity import FaceEmbedding, FaceEncoder
from proctor.decode import RecordingInfo
from proctor.events.event import Event
from proctor.events.vocabulary import EventType
from proctor.frames import AudioChunk, Frame, Image
from proctor.live.messages import (
    AudioIn,
    Calibrate,
    Calibrated,
    CloseSession,
    EventClosed,
    EventOpened,
    FrameDone,
    FromWorker,
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
    ToWorker,
    VideoIn,
)
from proctor.nativelog import silence_native_stderr
from proctor.orphans import exit_with_parent
from proctor.policy import Policy, policy_from_dict
from proctor.roomscan.schedule import ScanRequest
from proctor.score import compute_score
from proctor.stream import StreamAnalysis

logger = logging.getLogger(__name__)

Outbox = Callable[[FromWorker], None]
EVIDENCE_JPEG_QUALITY = 85
SCAN_PROGRESS_EVERY_S = 0.5


def jpeg(image: Image | None) -> bytes | None:
    if image is None:
        return None
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, EVIDENCE_JPEG_QUALITY])
    return data.tobytes() if ok else None


def event_fields(event: Event) -> dict[str, Any]:
    """An event as stored and served, with its number in the session."""
    return {**event.to_json(), "number": event.number}


WARM_UP_WIDTH = 640


def warm_up(stream: StreamAnalysis, photo: bytes) -> None:
    """Warm the session's models up on its reference photo (scaled to a webcam's width) before media arrives."""
    image = cv2.imdecode(np.frombuffer(photo, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        logger.warning("the reference photo could not be decoded; live analysis starts cold")
        return
    height, width = image.shape[:2]
    if width > WARM_UP_WIDTH:
        image = cv2.resize(image, (WARM_UP_WIDTH, round(height * WARM_UP_WIDTH / width)), interpolation=cv2.INTER_AREA)
    stream.warm_up(np.ascontiguousarray(image, dtype=np.uint8))


class _Announcer:
    """Sends a session's events to the web process as they open and close."""

    def __init__(self, session_id: str, outbox: Outbox) -> None:
        self.session_id = session_id
        self.outbox = outbox
        self.input_s: float | None = None
        """Media time of the input being analysed (the frame, or the end of the audio window)."""

    def opened(self, event: Event) -> None:
        detected = self.input_s if self.input_s is not None else event.end_s
        self.outbox(EventOpened(self.session_id, event_fields(event), detected, jpeg(event.evidence_image)))

    def closed(self, event: Event) -> None:
        self.outbox(EventClosed(self.session_id, event_fields(event), jpeg(event.evidence_image)))


@dataclass
class _Live:
    stream: StreamAnalysis
    policy: Policy
    announcer: _Announcer
    size: tuple[int, int] = (0, 0)
    has_audio: bool = False
    last_progress_s: float = field(default=-1e9)
    calibrating: bool = False
    checks_identity: bool = False
    """The session has a reference to check faces against (a candidate without a photo has none)."""


class LiveWorker:
    """Serves the sessions one worker process holds; everything here runs on the worker's one thread."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._detectors: dict[tuple[FacesConfig, bool], FaceDetector] = {}
        self._encoder: FaceEncoder | None = None
        self._sessions: dict[str, _Live] = {}

    def warm_up(self) -> None:
        """Load the shared models now and run each once (a graph's first inference builds its delegate, hundreds
        of milliseconds), not when the first candidate's frames are arriving."""
        blank = np.zeros((240, 320, 3), dtype=np.uint8)
        for short_range in (False, True):
            self._shared(policy_from_dict({}), short_range=short_range).detect_rgb(blank)
        self._encoder = FaceEncoder()

    def _shared(self, policy: Policy, short_range: bool = False) -> FaceDetector:
        """The worker's face detector of this configuration (full-range, or short-range for near faces)."""
        key = (policy.faces, short_range)
        detector = self._detectors.get(key)
        if detector is None:
            detector = self._detectors[key] = FaceDetector(policy.faces, short_range=short_range)
        return detector

    def handle(self, message: ToWorker) -> None:
        """Act on one message; a failure ends that session only (reported), never the worker."""
        try:
            self._handle(message)
        except Exception as exc:  # one session's bad luck must not stop the others
            logger.exception("live analysis of session %s failed", message.session_id)
            self._drop(message.session_id)
            self.outbox(SessionFailed(message.session_id, f"{type(exc).__name__}: {exc}"))
            if isinstance(message, VideoIn):
                self.outbox(FrameDone(message.session_id))

    def _handle(self, message: ToWorker) -> None:
        if isinstance(message, OpenSession):
            self._open(message)
            return
        live = self._sessions.get(message.session_id)
        if live is None:
            if isinstance(message, VideoIn):
                self.outbox(FrameDone(message.session_id))
            return  # a session closed (or failed) while its last messages were on the way
        live.announcer.input_s = None  # set below for media: what opens an event is timed by it
        if isinstance(message, VideoIn):
            self._frame(message, live)
        elif isinstance(message, AudioIn):
            live.has_audio = True
            chunk = AudioChunk(message.timestamp_s, np.frombuffer(message.pcm, dtype=np.int16).copy())
            live.announcer.input_s = chunk.timestamp_s + chunk.duration_s
            live.stream.audio(chunk)
        elif isinstance(message, Resumed):
            live.stream.resumed()
        elif isinstance(message, Interrupted):
            live.stream.interrupted(message.start_s, message.end_s, message.video, message.audio)
        elif isinstance(message, ScanBegin):
            live.stream.begin_scan(message.at_s)
        elif isinstance(message, ScanEnd):
            report = live.stream.end_scan(message.at_s, ScanRequest.from_json(message.request))
            complete = report is not None and report.complete
            summary = report.to_json() if report is not None else None
            self.outbox(ScanFinished(message.session_id, message.at_s, message.request, summary, complete))
        elif isinstance(message, ScanSettle):
            live.stream.settle_request(ScanRequest.from_json(message.request))
        elif isinstance(message, Calibrate):
            live.stream.calibrate(message.at_s)
            live.calibrating = True
        elif isinstance(message, PageEvent):
            live.stream.page_event(EventType(message.type), message.start_s, message.end_s, message.detail)
        elif isinstance(message, CloseSession):
            self._close(message, live)

    def _open(self, message: OpenSession) -> None:
        self._drop(message.session_id)
        policy = policy_from_dict(message.policy, source="exam policy")
        reference = None
        if message.embedding is not None:
            vector = np.frombuffer(message.embedding, dtype=np.float64).copy()
            reference = FaceEmbedding(vector, FaceBox(0, 0, 0, 0, 1.0))
            if self._encoder is None:
                self._encoder = FaceEncoder()
        detector = self._shared(policy)
        listener = _Announcer(message.session_id, self.outbox)
        stream = StreamAnalysis(
            policy,
            reference,
            detector,
            self._encoder,
            listener,
            message.numbering_from,
            source_reports_gaps=True,
            near_detector=self._shared(policy, short_range=True),
        )
        if message.photo is not None:
            warm_up(stream, message.photo)
        self._sessions[message.session_id] = _Live(stream, policy, listener, checks_identity=reference is not None)
        self.outbox(SessionOpened(message.session_id))
        logger.info("live analysis of session %s opened (%d sessions here)", message.session_id, len(self._sessions))

    def _frame(self, message: VideoIn, live: _Live) -> None:
        try:
            planes = np.frombuffer(message.yuv, dtype=np.uint8).reshape(message.height * 3 // 2, message.width)
            rgb: Image = np.ascontiguousarray(cv2.cvtColor(planes, cv2.COLOR_YUV2RGB_I420), dtype=np.uint8)
            live.size = (message.width, message.height)
            live.announcer.input_s = message.timestamp_s
            observation = live.stream.frame(Frame.from_rgb(0, message.timestamp_s, rgb))
            if observation is not None and observation.identity is not None:
                check = observation.identity
                self.outbox(IdentityChecked(message.session_id, message.timestamp_s, check.distance, check.match))
            if live.calibrating and (calibration := live.stream.calibration()) is not None:
                live.calibrating = False
                pose = (calibration.samples, calibration.yaw_deg, calibration.pitch_deg)
                self.outbox(Calibrated(message.session_id, message.timestamp_s, *pose))
            if live.stream.scanning and message.timestamp_s - live.last_progress_s >= SCAN_PROGRESS_EVERY_S:
                live.last_progress_s = message.timestamp_s
                progress = live.stream.scan_progress()
                if progress is not None:
                    at = message.timestamp_s
                    self.outbox(ScanProgress(message.session_id, at, progress.coverage_deg, progress.complete))
        finally:
            self.outbox(FrameDone(message.session_id))

    def _close(self, message: CloseSession, live: _Live) -> None:
        try:
            result = live.stream.finish(message.end_s)
        finally:
            self._drop(message.session_id)
        width, height = live.size
        info = RecordingInfo(Path("live"), result.end_s, width, height, 0.0, live.has_audio, "webrtc")
        analysis = AnalysisResult(
            info=info,
            policy=live.policy,
            events=result.events,
            score=compute_score(result.events, result.end_s, live.policy.weights),
            stages=result.stages,
            identity_checked=live.checks_identity,
            model_versions=model_versions(),
            identity_checks=result.identity_checks,
            faces=result.faces,
        )
        report = {**analysis.report_json(), "source": "live"}
        events = [event_fields(event) for event in result.events]
        self.outbox(SessionClosed(message.session_id, events, analysis.score.total, report, result.faces))

    def _drop(self, session_id: str) -> None:
        live = self._sessions.pop(session_id, None)
        if live is not None:
            live.stream.close()

    def close(self) -> None:
        for session_id in list(self._sessions):
            self._drop(session_id)
        for detector in self._detectors.values():
            detector.close()


def serve(inbox: Any, outbox: Any, parent_pid: int) -> None:
    """Entry point of a live worker process: handle messages until told to stop (None) or orphaned."""
    silence_native_stderr()
    warnings.filterwarnings("ignore", module="google.protobuf")
    exit_with_parent(parent_pid)
    worker = LiveWorker(outbox.put)
    worker.warm_up()
    try:
        while (message := inbox.get()) is not None:
            worker.handle(message)
    finally:
        worker.close()
