"""Loop closure: when a scan comes back to where it started, measure the last stretch directly.

Integrated rotation drifts, and a webcam that sits in front of its turning axis (a laptop turned on the
desk) also moves sideways, so near walls make each step look a few percent larger than it is. Once the
camera points back at its first view, matching that keyframe with the first frame gives the true
heading modulo 360°; the ratio to the integrated heading rescales the whole trajectory. This is what
decides scans near the 330° minimum, where the end view overlaps the start view.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from proctor.roomscan.geometry import GreyImage, Intrinsics, fit_rotation, heading_deg

logger = logging.getLogger(__name__)

MIN_TURN_DEG = 270.0
"""Only keyframes this far round can close the loop (earlier ones overlap the start trivially)."""
MIN_INLIERS = 25
ORB_FEATURES = 2000
"""Enough corners that an end view 40° short of the start (a third of it overlapping) still matches."""
MAX_RESIDUAL_PX = 2.5
LOOP_RANSAC_PX = 3.0
"""Homography inlier threshold of the loop match (tracking pixels)."""
SCALE_RANGE = (0.8, 1.25)


@dataclass(frozen=True)
class LoopCandidate:
    """A keyframe that may look back at the first view: its grey image and integrated unwrapped yaw."""

    grey: GreyImage
    yaw_deg: float


@dataclass(frozen=True)
class LoopClosure:
    """The integrated and the directly measured yaw of one keyframe, and the scale they imply."""

    integrated_deg: float
    measured_deg: float
    inliers: int

    @property
    def scale(self) -> float:
        return self.measured_deg / self.integrated_deg


def close_loop(first: GreyImage, candidates: Sequence[LoopCandidate], intrinsics: Intrinsics) -> LoopClosure | None:
    """Match the candidates pointing nearest to the start with the first view; None if none matches well."""
    usable = [c for c in candidates if abs(c.yaw_deg) >= MIN_TURN_DEG]
    usable.sort(key=lambda c: abs((c.yaw_deg + 180.0) % 360.0 - 180.0))
    if not usable:
        return None
    orb = cv2.ORB.create(nfeatures=ORB_FEATURES, fastThreshold=10)
    first_points, first_descriptors = orb.detectAndCompute(first, None)
    if first_descriptors is None:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
    for candidate in usable[:4]:
        points, descriptors = orb.detectAndCompute(candidate.grey, None)
        if descriptors is None:
            continue
        matches = matcher.match(first_descriptors, descriptors)
        if len(matches) < MIN_INLIERS:
            continue
        earlier = np.array([first_points[m.queryIdx].pt for m in matches], dtype=np.float32)
        later = np.array([points[m.trainIdx].pt for m in matches], dtype=np.float32)
        _, mask = cv2.findHomography(earlier, later, cv2.RANSAC, LOOP_RANSAC_PX)
        if mask is None or int(mask.sum()) < MIN_INLIERS:
            continue
        keep = mask.reshape(-1).astype(bool)
        fit = fit_rotation(earlier[keep], later[keep], intrinsics)
        if fit.residual_px > MAX_RESIDUAL_PX:
            continue
        offset = heading_deg(fit.rotation)
        turns = round((candidate.yaw_deg - offset) / 360.0)
        if turns == 0:
            continue
        closure = LoopClosure(candidate.yaw_deg, offset + 360.0 * turns, int(keep.sum()))
        if SCALE_RANGE[0] <= closure.scale <= SCALE_RANGE[1]:
            logger.info(
                "room scan: loop closed, %.1f° integrated is %.1f° measured",
                closure.integrated_deg,
                closure.measured_deg,
            )
            return closure
    return None
