"""The one analysis pipeline of an exam session: frames and audio on the session's timeline in, events out
as they open and close.

Offline analysis feeds it from files (`proctor.analyze`), live analysis from the candidate's WebRTC
tracks (`proctor.live`): the same cascade, rules and room-scan analyzer either way, only the source
differs. Sources may send more frames than needed; `FrameSampler` keeps the ones due at the current
rate (the analysis rate, or the room scan's rate during a scan) with the rule `iter_frames` uses, so a
file decoded at the analysis rate passes through unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from proctor.analyzers.audio import AudioAnalyzer
from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEmbedding, FaceEncoder, TimedIdentityCheck
from proctor.analyzers.sessionfaces import SessionFace
from proctor.events.detector import EventDetector, EventListener
from proctor.events.event import Event, Severity
from proctor.events.vocabulary import BROWSER, EventType
from proctor.frames import AUDIO_SAMPLE_RATE, AudioChunk, Frame, Image
from proctor.observations import VisualObservation
from proctor.pipeline import CandidateAnalyzer, StageCounts
from proctor.policy import Policy
from proctor.roomscan import ScanReport, scan_events
from proctor.roomscan.analyzer import RoomScanAnalyzer, ScanProgress
from proctor.roomscan.events import request_events
from proctor.roomscan.schedule import ScanRequest

logger = logging.getLogger(__name__)


class FrameSampler:
    """Keeps at most `rate_hz` frames per second of media time, evenly (the rule of `iter_frames`)."""

    def __init__(self, rate_hz: float) -> None:
        self.period = 1.0 / rate_hz
        self._next_s = 0.0

    def due(self, timestamp_s: float) -> bool:
        """Whether a frame at `timestamp_s` is kept (and if so, when the next one is due)."""
        if timestamp_s + 1e-6 < self._next_s:
            return False
        self._next_s = max(self._next_s + self.period, timestamp_s + self.period / 2)
        return True

    def set_rate(self, rate_hz: float) -> None:
        self.period = 1.0 / rate_hz


class AudioWindower:
    """Cuts a stream of 16 kHz mono pieces into the analysis windows (`window_s`), timed by their first sample;
    `flush` gives the last, shorter window (as a file's last chunk is shorter)."""

    def __init__(self, window_s: float) -> None:
        self._length = int(round(window_s * AUDIO_SAMPLE_RATE))
        self._pending = np.zeros(0, dtype=np.int16)
        self._start_s = 0.0

    def add(self, timestamp_s: float, samples: np.ndarray) -> list[AudioChunk]:
        """Add a piece starting at `timestamp_s`; returns the windows it completed. A jump in time restarts."""
        expected = self._start_s + len(self._pending) / AUDIO_SAMPLE_RATE
        if not len(self._pending) or abs(timestamp_s - expected) > 0.1:
            self._pending, self._start_s = np.zeros(0, dtype=np.int16), timestamp_s
        self._pending = np.concatenate([self._pending, samples.astype(np.int16, copy=False)])
        windows = []
        while len(self._pending) >= self._length:
            windows.append(AudioChunk(self._start_s, self._pending[: self._length].copy()))
            self._pending = self._pending[self._length :]
            self._start_s += self._length / AUDIO_SAMPLE_RATE
        return windows

    def flush(self) -> AudioChunk | None:
        if not len(self._pending):
            return None
        chunk = AudioChunk(self._start_s, self._pending)
        self._pending = np.zeros(0, dtype=np.int16)
        self._start_s = chunk.timestamp_s + chunk.duration_s
        return chunk


@dataclass(frozen=True)
class Calibration:
    """The neutral head pose learned over a calibration window (yaw and pitch in degrees; 0 without samples)."""

    start_s: float
    end_s: float
    samples: int
    yaw_deg: float
    pitch_deg: float


@dataclass(frozen=True)
class StreamResult:
    """Every event of the session in time order, the room scans it held, what the cascade ran, every identity
    check and the faces they saw."""

    events: tuple[Event, ...]
    scans: tuple[ScanReport, ...]
    stages: StageCounts
    end_s: float
    identity_checks: tuple[TimedIdentityCheck, ...] = ()
    faces: tuple[SessionFace, ...] = ()


class StreamAnalysis:
    """Analyses one session's media as it arrives, in time order; events are heard by `listener` as they
    open and close, and all of them are returned by `finish`.

    Every frame given to `frame` is analysed: sources sample first, with `sampler` (whose rate follows the
    room scans) or, across processes, with one of their own at `frame_rate_hz`.

    The face detectors and encoder may be shared with other sessions (they keep no state between frames);
    the stateful models (head pose, pose, tracking) belong to this session.
    """

    def __init__(
        self,
        policy: Policy,
        reference: FaceEmbedding | None,
        detector: FaceDetector | None = None,
        encoder: FaceEncoder | None = None,
        listener: EventListener | None = None,
        first_number: int = 0,
        *,
        source_reports_gaps: bool = False,
        near_detector: FaceDetector | None = None,
    ) -> None:
        self.policy = policy
        self._owned_detector = detector is None
        self._detector = detector or FaceDetector(policy.faces)
        if reference is not None and encoder is None:
            encoder = FaceEncoder()
        self.events = EventDetector(policy, listener, first_number, gaps_from_timestamps=not source_reports_gaps)
        self._audio = AudioAnalyzer(policy.audio)
        self._candidate = CandidateAnalyzer(
            policy, reference, detector=self._detector, encoder=encoder, near_detector=near_detector
        )
        self.sampler = FrameSampler(policy.analysis_rate_hz)
        self._scan: RoomScanAnalyzer | None = None
        self._scans: list[ScanReport] = []
        self._attempts: dict[int, list[ScanReport]] = {}
        self.end_s = 0.0

    @property
    def frame_rate_hz(self) -> float:
        """The rate frames are wanted at now: the room scan's during a scan, the analysis rate otherwise."""
        return self.policy.room_scan.analysis_rate_hz if self._scan is not None else self.policy.analysis_rate_hz

    @property
    def scanning(self) -> bool:
        return self._scan is not None

    def warm_up(self, image: Image) -> None:
        """Prepare the models before the first frame (see `CandidateAnalyzer.warm_up`)."""
        self._candidate.warm_up(image)

    def frame(self, frame: Frame) -> VisualObservation | None:
        """Analyse a frame; during a room scan it is measured as a scan, not judged as exam behaviour."""
        t = frame.timestamp_s
        self.end_s = max(self.end_s, t)
        if self._scan is not None:
            self._scan.feed(frame)  # the scan analyzer keeps its own rate
            self.events.pass_frame(t)
            return None
        observation = self._candidate.analyze(frame)
        self.events.feed_visual(observation, frame.image)
        return observation

    def audio(self, chunk: AudioChunk) -> None:
        """One audio window (`policy.audio.window_s` long) on the session timeline."""
        self.end_s = max(self.end_s, chunk.timestamp_s + chunk.duration_s)
        self.events.feed_audio(self._audio.observe(chunk))

    def no_audio(self, start_s: float, end_s: float, reason: str = "no audio stream") -> None:
        """A span known to have no audio at all (a file without an audio stream, a muted track)."""
        self.events.add_technical(EventType.AUDIO_LOST, start_s, end_s, reason)

    def page_event(self, event_type: EventType, start_s: float, end_s: float, detail: dict[str, str | float]) -> None:
        """What the exam page reported (`BROWSER` types): a timed fact the browser saw, added like the others."""
        if event_type not in BROWSER:
            raise ValueError(f"{event_type.value} is not reported by the page")
        self.end_s = max(self.end_s, end_s)
        self.events.add(Event(event_type, start_s, end_s, Severity.LOW, 1.0, start_s, {"source": "page", **detail}))

    def calibrate(self, start_s: float) -> None:
        """The candidate looks at the screen from `start_s`: learn the neutral head pose afresh there."""
        self._candidate.calibrate(start_s)

    def calibration(self) -> Calibration | None:
        """The neutral head pose, once the calibration window has passed (None while it runs)."""
        neutral = self._candidate.neutral_pose
        if not neutral.frozen and self.end_s <= neutral.end_s:
            return None
        pose = neutral.neutral
        return Calibration(neutral.start_s, neutral.end_s, neutral.samples, pose.yaw, pose.pitch)

    def resumed(self) -> None:
        """The stream was interrupted and starts again: forget frame-to-frame state, re-check identity at once."""
        self._candidate.note_gap()

    def interrupted(self, start_s: float, end_s: float, video: bool = True, audio: bool = True) -> None:
        """The source received nothing over [start_s, end_s] (a lost connection, a camera that sent nothing): the
        gap is technical (`video_lost`, `audio_lost`), never misconduct, and analysis then starts afresh."""
        if end_s - start_s > self.policy.max_video_gap_s:
            if video:
                self.events.add_technical(EventType.VIDEO_LOST, start_s, end_s, "no video received")
            if audio:
                self.events.add_technical(EventType.AUDIO_LOST, start_s, end_s, "no audio received")
        self.resumed()

    def begin_scan(self, timestamp_s: float) -> None:
        """A room scan starts at `timestamp_s` (its report and events start there): frames go to the
        room-scan analyzer until `end_scan`."""
        if self._scan is None:
            self._scan = RoomScanAnalyzer(self.policy.room_scan, faces=self._detector, begun_s=timestamp_s)
            self.sampler.set_rate(self.policy.room_scan.analysis_rate_hz)
            logger.debug("room scan begins at %.1f s", timestamp_s)

    def scan_progress(self) -> ScanProgress | None:
        """How far the running scan has got (None when none runs): see `RoomScanAnalyzer.progress`."""
        return self._scan.progress() if self._scan is not None else None

    def end_scan(self, timestamp_s: float, request: ScanRequest | None = None) -> ScanReport | None:
        """The running scan ends: its report (None if it held no frame). Without a `request` (a `--scan`
        window) its events join the session's at once; an attempt of a request waits for `settle_request`."""
        scan, self._scan = self._scan, None
        self.sampler.set_rate(self.policy.analysis_rate_hz)
        if scan is None:
            return None
        try:
            report = scan.finish()
        finally:
            scan.close()
        self._candidate.note_gap()  # the camera was turned round the room: start afresh
        if report.frames == 0:
            logger.info("room scan ending at %.1f s held no frame", timestamp_s)
            return None
        self._scans.append(report)
        if request is None:
            for event in scan_events(report, self.policy.room_scan):
                self.events.add(event)
        else:
            self._attempts.setdefault(request.number, []).append(report)
        return report

    def settle_request(self, request: ScanRequest) -> list[Event]:
        """A scan request is over (done, or out of attempts, or never started): its events join the session's."""
        events = request_events(request, self._attempts.pop(request.number, []))
        for event in events:
            self.events.add(event)
        return events

    def finish(self, end_s: float | None = None) -> StreamResult:
        """Close every open event at the end of the session (default: the last media time seen)."""
        if self._scan is not None:
            self.end_scan(self.end_s)
        end = max(self.end_s, end_s or 0.0)
        found = self.events.finish(end)
        events = tuple(sorted(found, key=lambda e: (e.start_s, e.type.value)))
        candidate = self._candidate
        checks, faces = tuple(candidate.identity_checks), candidate.faces.faces()
        return StreamResult(events, tuple(self._scans), candidate.counts, end, checks, faces)

    def close(self) -> None:
        """Release the models this session owns (the shared detector is its owner's to close)."""
        if self._scan is not None:
            self._scan.close()
            self._scan = None
        self._candidate.close()
        if self._owned_detector:
            self._detector.close()
