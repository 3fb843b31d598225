"""Camera rotation during a room scan: corner tracking (LK optical flow) against keyframes, integrated.

Each frame is tracked to the previous one with pyramidal Lucas–Kanade on a small grey image; the points
keep their position in the last keyframe, so the rotation of a frame is fitted against the keyframe
(larger turn, less drift) rather than chained frame by frame. A keyframe is replaced after about
`KEYFRAME_TURN_DEG` or when too few of its points survive. After the scan, the field of view is
self-calibrated from the keyframe pairs and every orientation is solved again with it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from proctor.frames import Image
from proctor.roomscan.config import RoomScanConfig
from proctor.roomscan.geometry import (
    GreyImage,
    Intrinsics,
    Matrix,
    PointPair,
    Points,
    calibrate_hfov,
    fit_rotation,
    heading_deg,
    pitch_deg,
)
from proctor.roomscan.loop import LoopCandidate, close_loop

logger = logging.getLogger(__name__)

KEYFRAME_TURN_DEG = 10.0
"""A new keyframe is taken after this much rotation since the last one."""
MIN_POINTS = 15
"""Fewer matched inliers than this and the rotation of a frame is unknown (tracking lost)."""
MAX_CORNERS = 160
RANSAC_PX = 3.0
MAX_LOST_FOR_LOOP = 0.1
"""Share of untracked frames above which the loop closure is not trusted to rescale the trajectory."""
LK_WINDOW = (21, 21)
LK_LEVELS = 4
LK_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)


def downscale_grey(image: Image, width_px: int) -> GreyImage:
    """The grey frame at most `width_px` wide that tracking and the quality checks work on."""
    height, width = image.shape[:2]
    target_w = min(width_px, width)
    target_h = max(1, round(height * target_w / width))
    small = cv2.resize(image, (target_w, target_h), interpolation=cv2.INTER_AREA) if target_w != width else image
    return np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


@dataclass(frozen=True)
class OrientationSample:
    """Where the camera pointed at one analysed frame, relative to the scan's first frame."""

    timestamp_s: float
    yaw_deg: float
    pitch_deg: float
    tracked: bool
    inliers: int


@dataclass(frozen=True)
class RotationTrack:
    """The camera's orientation over a scan: unwrapped yaw per frame and the field of view used."""

    samples: tuple[OrientationSample, ...]
    hfov_deg: float
    focal_calibrated: bool
    loop_scale: float | None = None
    """Set when the scan came back to its first view: the factor the integrated yaw was corrected by."""


@dataclass
class _FrameLink:
    """How one frame was matched: its keyframe number and the inlier points (None when lost)."""

    timestamp_s: float
    keyframe: int
    pair: PointPair | None


@dataclass
class _Keyframe:
    grey: GreyImage
    points: Points
    parent: int
    link: PointPair | None = None  # points in (parent keyframe, this keyframe or the last frame tracked before it)


@dataclass
class RotationTracker:
    """Feed it frames in time order (`update`), then `finish` for the self-calibrated trajectory."""

    config: RoomScanConfig
    _size: tuple[int, int] | None = None
    _intrinsics: Intrinsics | None = None
    _keyframes: list[_Keyframe] = field(default_factory=list)
    _links: list[_FrameLink] = field(default_factory=list)
    _prev_grey: GreyImage | None = None
    _key_points: Points | None = None  # points of the current keyframe still tracked
    _cur_points: Points | None = None  # their position in the previous frame
    _flow: Points | None = None  # median displacement of the previous step, as prediction
    _last_pair: PointPair | None = None  # the latest successful match against the current keyframe

    def update(self, timestamp_s: float, grey: GreyImage) -> bool:
        """Track one downscaled grey frame (see `downscale_grey`); returns whether its rotation is known."""
        intrinsics = self._intrinsics
        if intrinsics is None:
            self._size = (int(grey.shape[1]), int(grey.shape[0]))
            intrinsics = self._intrinsics = Intrinsics.from_hfov(self.config.hfov_guess_deg, *self._size)
        if self._prev_grey is None or self._key_points is None or self._cur_points is None or not self._keyframes:
            self._new_keyframe(grey, link=None)
            self._links.append(_FrameLink(timestamp_s, len(self._keyframes) - 1, self._identity_pair()))
            self._prev_grey = grey
            return True
        pair = self._track(grey)
        tracked = pair is not None and len(pair.earlier) >= MIN_POINTS
        keyframe = len(self._keyframes) - 1
        if not tracked or pair is None:
            # Lost: restart from this frame, posed where the camera was last seen (never invents a turn).
            self._links.append(_FrameLink(timestamp_s, keyframe, None))
            self._new_keyframe(grey, link=self._last_pair)
        else:
            self._links.append(_FrameLink(timestamp_s, keyframe, pair))
            turn = fit_rotation(pair.earlier, pair.later, intrinsics).angle_deg
            survivors = len(pair.earlier) / max(1, len(self._keyframes[-1].points))
            if turn >= KEYFRAME_TURN_DEG or survivors < 0.5 or len(pair.earlier) < 2 * MIN_POINTS:
                self._new_keyframe(grey, link=pair)
        self._prev_grey = grey
        return tracked

    def rough_yaws(self) -> list[float]:
        """Unwrapped yaw of every keyframe so far with the guessed field of view: a live estimate of the turn."""
        if self._intrinsics is None or not self._keyframes:
            return []
        headings = [heading_deg(o) for o in self._keyframe_orientations(self._intrinsics)]
        return [float(y) for y in np.degrees(np.unwrap(np.radians(headings)))]

    def finish(self, hfov_deg: float | None = None, *, loop_closure: bool = True) -> RotationTrack:
        """Self-calibrate the field of view (if asked) and solve every frame's orientation with it.

        A known `hfov_deg` skips the calibration (most of the cost); `loop_closure=False` skips matching
        the end view against the start (the rest of it): together they make a cheap re-measure of a
        scan in progress with the field of view calibrated earlier.
        """
        if self._size is None or self._intrinsics is None:
            return RotationTrack(samples=(), hfov_deg=self.config.hfov_guess_deg, focal_calibrated=False)
        width, height = self._size
        hfov = self.config.hfov_guess_deg
        calibrated = False
        if hfov_deg is not None:
            hfov, calibrated = hfov_deg, True
        elif self.config.estimate_focal:
            pairs = [k.link for k in self._keyframes if k.link is not None]
            found = calibrate_hfov(pairs, width, height, self.config.hfov_bounds_deg)
            if found is not None:
                hfov, calibrated = found, True
        logger.debug("room scan: field of view %.1f° (%s)", hfov, "calibrated" if calibrated else "guess")
        intrinsics = Intrinsics.from_hfov(hfov, width, height)
        key_orientations = self._keyframe_orientations(intrinsics)
        samples = []
        last = np.eye(3)
        for link in self._links:
            if link.pair is None:
                orientation, tracked, inliers = last, False, 0
            else:
                relative = fit_rotation(link.pair.earlier, link.pair.later, intrinsics).rotation
                orientation, tracked, inliers = key_orientations[link.keyframe] @ relative, True, len(link.pair.earlier)
            last = orientation
            samples.append(
                OrientationSample(link.timestamp_s, heading_deg(orientation), pitch_deg(orientation), tracked, inliers)
            )
        yaws = np.degrees(np.unwrap(np.radians([s.yaw_deg for s in samples])))
        # Lost frames drop their turn from the integral; a few may be made good by the loop, many may not.
        lost = sum(not s.tracked for s in samples)
        trusted = lost <= MAX_LOST_FOR_LOOP * len(samples)
        closing = trusted and loop_closure
        scale = self._loop_scale(key_orientations, float(yaws[-1]), intrinsics) if closing else None
        unwrapped = tuple(
            OrientationSample(s.timestamp_s, float(y) * (scale or 1.0), s.pitch_deg, s.tracked, s.inliers)
            for s, y in zip(samples, yaws, strict=True)
        )
        return RotationTrack(samples=unwrapped, hfov_deg=hfov, focal_calibrated=calibrated, loop_scale=scale)

    def _loop_scale(self, orientations: list[Matrix], last_yaw: float, intrinsics: Intrinsics) -> float | None:
        """The loop-closure correction of the integrated yaw, or None (not asked, not closed, not matched)."""
        if not self.config.loop_closure or len(self._keyframes) < 3:
            return None
        key_yaws = np.degrees(np.unwrap(np.radians([heading_deg(o) for o in orientations])))
        candidates = [LoopCandidate(k.grey, float(y)) for k, y in zip(self._keyframes, key_yaws, strict=True)]
        if self._prev_grey is not None:
            candidates.append(LoopCandidate(self._prev_grey, last_yaw))  # the end view, often past the last keyframe
        closure = close_loop(self._keyframes[0].grey, candidates, intrinsics)
        return closure.scale if closure is not None else None

    def _keyframe_orientations(self, intrinsics: Intrinsics) -> list[Matrix]:
        orientations: list[Matrix] = []
        for keyframe in self._keyframes:
            if not orientations:
                orientations.append(np.eye(3))
                continue
            parent = orientations[keyframe.parent]
            if keyframe.link is None:
                orientations.append(parent)
            else:
                orientations.append(
                    parent @ fit_rotation(keyframe.link.earlier, keyframe.link.later, intrinsics).rotation
                )
        return orientations

    def _new_keyframe(self, grey: GreyImage, link: PointPair | None) -> None:
        corners = cv2.goodFeaturesToTrack(grey, maxCorners=MAX_CORNERS, qualityLevel=0.01, minDistance=8, blockSize=5)
        points = np.zeros((0, 2), np.float32) if corners is None else corners.reshape(-1, 2).astype(np.float32)
        parent = len(self._keyframes) - 1 if self._keyframes else 0
        self._keyframes.append(_Keyframe(grey=grey, points=points, parent=max(0, parent), link=link))
        self._key_points = points
        self._cur_points = points.copy()
        self._last_pair = PointPair(earlier=points, later=points)

    def _identity_pair(self) -> PointPair:
        points = self._key_points if self._key_points is not None else np.zeros((0, 2), np.float32)
        return PointPair(earlier=points, later=points)

    def _track(self, grey: GreyImage) -> PointPair | None:
        """Match the keyframe's points into this frame, predicted by the last flow, else by phase correlation."""
        previous_grey, previous, key = self._prev_grey, self._cur_points, self._key_points
        if previous_grey is None or previous is None or key is None or len(previous) < MIN_POINTS:
            return None
        first_guess = self._flow if self._flow is not None else np.zeros(2, np.float32)
        pair = self._match(previous_grey, grey, previous, key, first_guess)
        if pair is None:
            # A turn faster than the last flow predicted: a global shift estimate brings LK back in range.
            pair = self._match(previous_grey, grey, previous, key, _global_shift(previous_grey, grey))
        return pair

    def _match(
        self, previous_grey: GreyImage, grey: GreyImage, previous: Points, key: Points, shift: Points
    ) -> PointPair | None:
        moved, status, _ = cv2.calcOpticalFlowPyrLK(
            previous_grey,
            grey,
            previous.reshape(-1, 1, 2),
            (previous + shift).reshape(-1, 1, 2).astype(np.float32),
            winSize=LK_WINDOW,
            maxLevel=LK_LEVELS,
            criteria=LK_CRITERIA,
            flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
        )
        if moved is None:
            return None
        moved = moved.reshape(-1, 2)
        height, width = grey.shape[:2]
        ok = status.reshape(-1).astype(bool)
        ok &= (moved[:, 0] >= 0) & (moved[:, 1] >= 0) & (moved[:, 0] < width) & (moved[:, 1] < height)
        if ok.sum() < MIN_POINTS:
            return None
        key, prev, cur = key[ok], previous[ok], moved[ok]
        _, mask = cv2.findHomography(key, cur, cv2.RANSAC, RANSAC_PX)
        if mask is None:
            return None
        keep = mask.reshape(-1).astype(bool)
        if keep.sum() < MIN_POINTS:
            return None
        self._flow = np.median(cur[keep] - prev[keep], axis=0).astype(np.float32)
        self._key_points, self._cur_points = key[keep], cur[keep]
        self._last_pair = PointPair(earlier=key[keep].copy(), later=cur[keep].copy())
        return self._last_pair


def _global_shift(previous: GreyImage, current: GreyImage) -> Points:
    """The dominant image translation between two frames (phase correlation, ~1 ms at 320×240)."""
    height, width = previous.shape[:2]
    window = cv2.createHanningWindow((width, height), cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(previous.astype(np.float32), current.astype(np.float32), window)
    return np.array([dx, dy], dtype=np.float32)
