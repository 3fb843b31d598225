"""Room-scan analyzer: the frames of one scan window → a typed `ScanReport`.

Cheap before costly: every analysed frame is downscaled once and shared by rotation tracking and the
quality checks (a few milliseconds); the face detector and Pose run at their own lower rates. Frames
past the scan's time limit are not part of the scan.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from proctor.analyzers.body import BodyConfig, PoseEstimator
from proctor.analyzers.faces import FaceDetector, FacesConfig
from proctor.errors import InputError
from proctor.frames import Frame
from proctor.roomscan.config import RoomScanConfig
from proctor.roomscan.coverage import Sector, circular_coverage, coverage_reached_at, swept_intervals, widen
from proctor.roomscan.persons import PeopleWatcher, PersonSighting
from proctor.roomscan.quality import FrameQuality, ScanQuality, measure_frame, summarize_quality
from proctor.roomscan.rotation import OrientationSample, RotationTracker, downscale_grey

logger = logging.getLogger(__name__)


PROGRESS_CHECK_MARGIN_DEG = 40.0
"""Within this much of the minimum, progress is measured properly (the quick estimate errs by ±25° or so)."""


@dataclass(frozen=True)
class ScanProgress:
    """How far a running scan has got: coverage so far, and whether it is measured complete."""

    coverage_deg: float
    measured: bool
    """True when `coverage_deg` is the self-calibrated measure that `finish` reports, not the quick estimate."""
    complete: bool


@dataclass(frozen=True, eq=False)
class PersonInRoom:
    """A person sighting placed in the room: the yaw the camera pointed at when it was best seen."""

    sighting: PersonSighting
    yaw_deg: float


@dataclass(frozen=True, eq=False)
class ScanReport:
    """What one room scan covered, how well, how fast, and who was seen in the room."""

    start_s: float
    end_s: float
    frames: int
    frames_after_limit: int
    min_coverage_deg: float
    coverage_deg: float
    largest_gap_deg: float
    sectors: tuple[Sector, ...]
    view_coverage_deg: float
    hfov_deg: float
    focal_calibrated: bool
    net_turn_deg: float
    completed_at_s: float | None
    quality: ScanQuality
    persons: tuple[PersonInRoom, ...]
    trajectory: tuple[OrientationSample, ...] = field(repr=False)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def complete(self) -> bool:
        """Coverage reached the policy's minimum within the time limit."""
        return self.frames > 0 and self.coverage_deg >= self.min_coverage_deg

    @property
    def timed_out(self) -> bool:
        """The scan was still going at the time limit without having reached the minimum coverage."""
        return self.frames_after_limit > 0 and not self.complete

    def to_json(self) -> dict[str, Any]:
        """The content of scan.json (without images; evidence file names are added by the writer)."""
        q = self.quality
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "duration_s": round(self.duration_s, 3),
            "frames": self.frames,
            "frames_after_limit": self.frames_after_limit,
            "complete": self.complete,
            "timed_out": self.timed_out,
            "min_coverage_deg": self.min_coverage_deg,
            "coverage_deg": round(self.coverage_deg, 1),
            "largest_gap_deg": round(self.largest_gap_deg, 1),
            "sectors": [{"start_deg": round(s.start_deg, 1), "width_deg": round(s.width_deg, 1)} for s in self.sectors],
            "view_coverage_deg": round(self.view_coverage_deg, 1),
            "net_turn_deg": round(self.net_turn_deg, 1),
            "completed_at_s": None if self.completed_at_s is None else round(self.completed_at_s, 3),
            "hfov_deg": round(self.hfov_deg, 1),
            "focal_calibrated": self.focal_calibrated,
            "speed": {"mean_deg_s": round(q.mean_speed_deg_s, 1), "peak_deg_s": round(q.peak_speed_deg_s, 1)},
            "quality": {
                "flags": list(q.flags),
                "dark_fraction": round(q.dark_fraction, 3),
                "covered_fraction": round(q.covered_fraction, 3),
                "blurred_fraction": round(q.blurred_fraction, 3),
                "too_fast_fraction": round(q.too_fast_fraction, 3),
                "lost_fraction": round(q.lost_fraction, 3),
            },
            "persons": [
                {
                    "start_s": round(p.sighting.start_s, 3),
                    "end_s": round(p.sighting.end_s, 3),
                    "peak_s": round(p.sighting.peak_s, 3),
                    "yaw_deg": round(p.yaw_deg, 1),
                    "source": p.sighting.source,
                    "detections": p.sighting.detections,
                    "score": round(p.sighting.score, 3),
                }
                for p in self.persons
            ],
            "trajectory": [[round(s.timestamp_s, 3), round(s.yaw_deg, 1) + 0.0] for s in self.trajectory],
        }


class RoomScanAnalyzer:
    """Feed the frames of one scan in time order, then `finish()` for the report.

    Detectors passed in are borrowed (the caller closes them); ones created here are closed by `close()`.
    """

    def __init__(
        self,
        config: RoomScanConfig,
        faces: FaceDetector | None = None,
        pose: PoseEstimator | None = None,
        faces_config: FacesConfig | None = None,
        body_config: BodyConfig | None = None,
        begun_s: float | None = None,
    ) -> None:
        """`begun_s`: when the candidate began the scan (a live click), its start and the start of its time
        limit; without it the scan starts at its first frame."""
        self.config = config
        self._owned: list[FaceDetector | PoseEstimator] = []
        if faces is None:
            faces = FaceDetector(faces_config)
            self._owned.append(faces)
        if pose is None and config.pose_check_hz > 0:
            pose = PoseEstimator(body_config)
            self._owned.append(pose)
        self._people = PeopleWatcher(config, faces, pose)
        self._tracker = RotationTracker(config)
        self._qualities: list[FrameQuality] = []
        self._start_s: float | None = begun_s
        self._last_s: float | None = None
        self._next_s = 0.0
        self._after_limit = 0
        self._progress_hfov: float | None = None

    def feed(self, frame: Frame) -> None:
        """Analyse one frame (frames closer than 1/analysis_rate_hz to the last analysed one are skipped)."""
        t = frame.timestamp_s
        if self._start_s is None:
            self._start_s = t
        elif t < self._start_s:
            return  # taken before the candidate began (a live frame that came after the click): not the scan's
        elif t - self._start_s > self.config.time_limit_s:
            self._after_limit += 1
            return
        if self._last_s is not None and t + 1e-6 < self._next_s:
            return
        self._next_s = max(self._next_s + 1.0 / self.config.analysis_rate_hz, t + 0.5 / self.config.analysis_rate_hz)
        self._last_s = t
        grey = downscale_grey(frame.image, self.config.track_width_px)
        self._qualities.append(measure_frame(grey, self.config))
        self._tracker.update(t, grey)
        self._people.observe(frame)

    def progress_deg(self) -> float:
        """Coverage so far, quickly: keyframe turns with the guessed field of view (for a live progress ring;
        `finish` measures the scan properly, self-calibrated)."""
        yaws = self._tracker.rough_yaws()
        if len(yaws) < 2:
            return 0.0
        return circular_coverage(swept_intervals(yaws, [True] * len(yaws))).covered_deg

    def progress(self) -> ScanProgress:
        """Coverage so far for a live progress ring: the quick estimate while far from the minimum, then
        the measure `finish` makes.

        The field of view is self-calibrated once, on entering the last `PROGRESS_CHECK_MARGIN_DEG`
        (about 0.8 s on 2 cores; by then most of the scan's views are in), and kept for the later checks
        (about 0.07 s each), so that the analysis keeps up with the frames just when the scan completes.
        Those checks leave out the loop closure: it only corrects a turn that came back to its start,
        which is past any minimum. `finish` calibrates afresh on every view for the report.
        """
        rough = self.progress_deg()
        if rough < self.config.min_coverage_deg - PROGRESS_CHECK_MARGIN_DEG:
            return ScanProgress(rough, measured=False, complete=False)
        if self._progress_hfov is None:
            self._progress_hfov = self._tracker.finish(loop_closure=False).hfov_deg
        samples = self._tracker.finish(self._progress_hfov, loop_closure=False).samples
        covered = circular_coverage(swept_intervals([s.yaw_deg for s in samples], [s.tracked for s in samples]))
        return ScanProgress(
            covered.covered_deg, measured=True, complete=covered.covered_deg >= self.config.min_coverage_deg
        )

    def finish(self) -> ScanReport:
        """Solve the trajectory (self-calibrated) and measure coverage, quality and people."""
        track = self._tracker.finish()
        samples = track.samples
        yaws = [s.yaw_deg for s in samples]
        tracked = [s.tracked for s in samples]
        intervals = swept_intervals(yaws, tracked)
        coverage = circular_coverage(intervals)
        view = circular_coverage(widen(intervals, track.hfov_deg / 2))
        start = self._start_s if self._start_s is not None else 0.0
        end = self._last_s if self._last_s is not None else start
        reached = coverage_reached_at([s.timestamp_s for s in samples], yaws, tracked, self.config.min_coverage_deg)
        persons = tuple(
            PersonInRoom(sighting, _person_yaw(samples, sighting, track.hfov_deg))
            for sighting in self._people.sightings()
            if not (
                sighting.max_faces <= 1
                and _in_candidate_sector(_yaw_at(samples, sighting.peak_s), self.config.candidate_sector_deg)
            )
        )
        report = ScanReport(
            start_s=start,
            end_s=end,
            frames=len(samples),
            frames_after_limit=self._after_limit,
            min_coverage_deg=self.config.min_coverage_deg,
            coverage_deg=coverage.covered_deg,
            largest_gap_deg=coverage.largest_gap_deg,
            sectors=coverage.sectors,
            view_coverage_deg=view.covered_deg,
            hfov_deg=track.hfov_deg,
            focal_calibrated=track.focal_calibrated,
            net_turn_deg=yaws[-1] if yaws else 0.0,
            completed_at_s=reached,
            quality=summarize_quality(self._qualities, samples, self.config),
            persons=persons,
            trajectory=samples,
        )
        logger.info(
            "room scan %.1f–%.1f s: %.0f° covered (gap %.0f°), %d person sighting(s), flags %s",
            report.start_s,
            report.end_s,
            report.coverage_deg,
            report.largest_gap_deg,
            len(persons),
            ",".join(report.quality.flags) or "none",
        )
        return report

    def close(self) -> None:
        for detector in self._owned:
            detector.close()
        self._owned.clear()

    def __enter__(self) -> RoomScanAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def analyze_scan_window(
    frames: Iterable[Frame],
    config: RoomScanConfig,
    faces: FaceDetector | None = None,
    pose: PoseEstimator | None = None,
) -> ScanReport:
    """Analyse the frames of one scan window (timestamps on the recording's timeline); InputError if empty."""
    with RoomScanAnalyzer(config, faces=faces, pose=pose) as analyzer:
        for frame in frames:
            analyzer.feed(frame)
        report = analyzer.finish()
    if report.frames == 0:
        raise InputError("the room-scan window holds no video frame")
    return report


def _yaw_at(samples: tuple[OrientationSample, ...], t: float) -> float:
    if not samples:
        return 0.0
    return min(samples, key=lambda s: abs(s.timestamp_s - t)).yaw_deg


def _person_yaw(samples: tuple[OrientationSample, ...], sighting: PersonSighting, hfov_deg: float) -> float:
    """Direction of the person in the room (−180…180°): camera yaw plus the face's angle off the axis."""
    off_axis = math.degrees(math.atan(2 * sighting.peak_offset * math.tan(math.radians(hfov_deg) / 2)))
    return (_yaw_at(samples, sighting.peak_s) + off_axis + 180.0) % 360.0 - 180.0


def _in_candidate_sector(yaw_deg: float, sector_deg: float) -> bool:
    if sector_deg <= 0:
        return False
    offset = (yaw_deg + 180.0) % 360.0 - 180.0
    return abs(offset) <= sector_deg
