"""What the web process and the live analysis worker processes say to each other (plain picklable values).

To a worker: a session opens, frames and audio windows on the session's timeline, interruptions, room
scans, and the end. From a worker: a frame is done (a credit back), events as they open and close (with
their evidence JPEG), identity checks, scan progress and results, the session's final result (with the
faces seen, whose mean embeddings are numpy arrays).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from proctor.analyzers.sessionfaces import SessionFace


@dataclass(frozen=True)
class OpenSession:
    session_id: str
    policy: dict[str, Any]
    embedding: bytes | None
    """The enrolled reference (128 float64), or None to check no identity."""
    numbering_from: int = 0
    """Event numbers continue after the ones already stored (a session resumed after a restart)."""
    photo: bytes | None = field(default=None, repr=False)
    """The reference photo (JPEG/PNG): the session's models are warmed up on it before the first frame."""


@dataclass(frozen=True)
class VideoIn:
    """One frame, as I420 (YUV 4:2:0) planes: half the bytes of BGR, converted in the worker."""

    session_id: str
    timestamp_s: float
    width: int
    height: int
    yuv: bytes = field(repr=False)


@dataclass(frozen=True)
class AudioIn:
    """One analysis window of 16 kHz mono signed 16-bit audio."""

    session_id: str
    timestamp_s: float
    pcm: bytes = field(repr=False)


@dataclass(frozen=True)
class Resumed:
    """The stream was interrupted and resumes at `at_s` (a reconnect): frame-to-frame state starts afresh."""

    session_id: str
    at_s: float


@dataclass(frozen=True)
class Interrupted:
    """Nothing was received over [start_s, end_s] (the web process saw it: the worker only sees sampled
    frames): technical `video_lost` and/or `audio_lost`, and state starts afresh."""

    session_id: str
    start_s: float
    end_s: float
    video: bool = True
    audio: bool = True


@dataclass(frozen=True)
class ScanBegin:
    session_id: str
    at_s: float


@dataclass(frozen=True)
class ScanEnd:
    """An attempt of a scan request ends (its report waits for the request to settle)."""

    session_id: str
    at_s: float
    request: dict[str, Any]


@dataclass(frozen=True)
class ScanSettle:
    """A scan request is over (done, out of attempts, or never started): its events join the session's."""

    session_id: str
    request: dict[str, Any]


@dataclass(frozen=True)
class Calibrate:
    """The candidate looks at the screen from `at_s`: the neutral head pose is learned afresh there."""

    session_id: str
    at_s: float


@dataclass(frozen=True)
class PageEvent:
    """What the exam page saw (a `BROWSER` event type) over [start_s, end_s], with a few facts about it."""

    session_id: str
    type: str
    start_s: float
    end_s: float
    detail: dict[str, str | float] = field(default_factory=dict)


@dataclass(frozen=True)
class CloseSession:
    session_id: str
    end_s: float


ToWorker = (
    OpenSession
    | VideoIn
    | AudioIn
    | Resumed
    | Interrupted
    | ScanBegin
    | ScanEnd
    | ScanSettle
    | Calibrate
    | PageEvent
    | CloseSession
)


@dataclass(frozen=True)
class FrameDone:
    """A frame was taken off the queue and analysed (or skipped): the sender may send another."""

    session_id: str


@dataclass(frozen=True)
class EventOpened:
    """An event opened: its fields as served (`number` included), the evidence so far as JPEG."""

    session_id: str
    event: dict[str, Any]
    detected_s: float
    """Media time of the input that opened it: the analysed frame, or the end of the audio window."""
    evidence: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class EventClosed:
    session_id: str
    event: dict[str, Any]
    evidence: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class IdentityChecked:
    session_id: str
    at_s: float
    distance: float
    match: bool


@dataclass(frozen=True)
class ScanProgress:
    session_id: str
    at_s: float
    coverage_deg: float
    complete: bool


@dataclass(frozen=True)
class ScanFinished:
    """An attempt of a room scan ended: its report (None when it held no frame), whether it is complete."""

    session_id: str
    at_s: float
    request: dict[str, Any]
    report: dict[str, Any] | None
    complete: bool


@dataclass(frozen=True)
class Calibrated:
    """A calibration asked for is over: the neutral head pose (degrees) and how many frames it rests on."""

    session_id: str
    at_s: float
    samples: int
    yaw_deg: float
    pitch_deg: float


@dataclass(frozen=True)
class SessionOpened:
    """The session's analysis is ready: its models are loaded and warm (frames sent before may be dropped)."""

    session_id: str


@dataclass(frozen=True)
class SessionClosed:
    """The session's analysis is complete: every event, the score, the report and the faces seen."""

    session_id: str
    events: list[dict[str, Any]]
    score: float
    report: dict[str, Any]
    faces: tuple[SessionFace, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class SessionFailed:
    session_id: str
    message: str


FromWorker = (
    FrameDone
    | SessionOpened
    | EventOpened
    | EventClosed
    | IdentityChecked
    | ScanProgress
    | ScanFinished
    | Calibrated
    | SessionClosed
    | SessionFailed
)
