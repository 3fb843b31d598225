"""Scan windows inside a longer recording: `proctor analyze --scan START_S:END_S` (repeatable).

`parse_scan_window` validates the option where it enters; `ScanWindowRouter` takes the frames of the
main analysis pass and hands those inside a window to that window's analyzer, so a recording is decoded
once; `analyze_scan_windows` is the stand-alone variant that decodes at the scan rate itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from proctor.analyzers.body import PoseEstimator
from proctor.analyzers.faces import FaceDetector
from proctor.decode import iter_frames
from proctor.errors import InputError
from proctor.frames import Frame
from proctor.roomscan.analyzer import RoomScanAnalyzer, ScanReport
from proctor.roomscan.config import RoomScanConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanWindow:
    """A stretch [start_s, end_s] of a recording during which the candidate scanned the room."""

    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.start_s < self.end_s:
            raise ValueError(f"scan window must satisfy 0 ≤ start < end, got {self.start_s}:{self.end_s}")

    def holds(self, t: float) -> bool:
        return self.start_s <= t <= self.end_s


def parse_scan_window(spec: str) -> ScanWindow:
    """`START_S:END_S` in seconds (e.g. `0:25.5`); InputError with a one-line reason otherwise."""
    start, sep, end = spec.partition(":")
    try:
        if not sep:
            raise ValueError("missing ':'")
        return ScanWindow(float(start), float(end))
    except ValueError as exc:
        raise InputError(f"--scan {spec!r}: expected START_S:END_S with 0 ≤ START < END ({exc})") from exc


def check_windows(windows: Sequence[ScanWindow]) -> list[ScanWindow]:
    """Windows in time order; overlapping windows are refused (one frame belongs to one scan)."""
    ordered = sorted(windows, key=lambda w: w.start_s)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if later.start_s <= earlier.end_s:
            raise InputError(
                f"--scan windows {earlier.start_s}:{earlier.end_s} and {later.start_s}:{later.end_s} overlap"
            )
    return ordered


class ScanWindowRouter:
    """Feed it every frame of an analysis pass; frames inside a window go to that window's analyzer.

    The detectors are borrowed (shared with the main pass); one analyzer lives per window, and the
    window's report is made as soon as a frame past its end arrives (or at `finish`).
    """

    def __init__(
        self,
        windows: Sequence[ScanWindow],
        config: RoomScanConfig,
        faces: FaceDetector | None = None,
        pose: PoseEstimator | None = None,
    ) -> None:
        self.windows = check_windows(windows)
        self.config = config
        self._faces, self._pose = faces, pose
        self._current: tuple[ScanWindow, RoomScanAnalyzer] | None = None
        self._reports: list[ScanReport] = []
        self._next = 0

    def feed(self, frame: Frame) -> None:
        t = frame.timestamp_s
        if self._current is not None and t > self._current[0].end_s:
            self._close_current()
        while self._next < len(self.windows) and t > self.windows[self._next].end_s:
            logger.warning("room scan window %s has no frame", self.windows[self._next])
            self._next += 1
        if self._current is None and self._next < len(self.windows) and self.windows[self._next].holds(t):
            analyzer = RoomScanAnalyzer(self.config, faces=self._faces, pose=self._pose)
            self._current = (self.windows[self._next], analyzer)
            self._next += 1
        if self._current is not None:
            self._current[1].feed(frame)

    def finish(self) -> list[ScanReport]:
        """Reports of the windows that held frames, in time order."""
        self._close_current()
        return list(self._reports)

    def _close_current(self) -> None:
        if self._current is None:
            return
        analyzer = self._current[1]
        self._reports.append(analyzer.finish())
        analyzer.close()
        self._current = None


def analyze_scan_windows(
    recording: Path,
    windows: Sequence[ScanWindow],
    config: RoomScanConfig,
    faces: FaceDetector | None = None,
    pose: PoseEstimator | None = None,
) -> list[ScanReport]:
    """Decode `recording` at the scan rate up to the last window's end and analyse each window."""
    router = ScanWindowRouter(windows, config, faces, pose)
    if not router.windows:
        return []
    last_end = router.windows[-1].end_s
    for frame in iter_frames(recording, config.analysis_rate_hz):
        if frame.timestamp_s > last_end:
            break
        router.feed(frame)
    return router.finish()
