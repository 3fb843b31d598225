"""Frame quality during a scan: too dark, lens covered, blurred, turned too fast, tracking lost.

A scan that was technically bad shows the reviewer little of the room even when its coverage is
complete, so the report says which of these happened and on what share of the frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from proctor.roomscan.config import RoomScanConfig
from proctor.roomscan.geometry import GreyImage
from proctor.roomscan.rotation import OrientationSample


@dataclass(frozen=True)
class FrameQuality:
    """Brightness, contrast and sharpness (variance of the Laplacian) of one downscaled grey frame."""

    brightness: float
    contrast: float
    sharpness: float
    dark: bool
    covered: bool
    blurred: bool


def measure_frame(grey: GreyImage, config: RoomScanConfig) -> FrameQuality:
    """Measure one frame; a covered lens is neither dark nor blurred, it is covered."""
    brightness = float(np.mean(grey))
    contrast = float(np.std(grey))
    sharpness = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    covered = contrast < config.covered_contrast
    return FrameQuality(
        brightness=brightness,
        contrast=contrast,
        sharpness=sharpness,
        dark=not covered and brightness < config.dark_brightness,
        covered=covered,
        blurred=not covered and sharpness < config.blur_threshold,
    )


@dataclass(frozen=True)
class ScanQuality:
    """Shares of the scan's frames with each problem, turning speeds, and the flags they raise."""

    frames: int
    dark_fraction: float
    covered_fraction: float
    blurred_fraction: float
    too_fast_fraction: float
    lost_fraction: float
    mean_speed_deg_s: float
    peak_speed_deg_s: float
    too_dark: bool
    camera_covered: bool
    blurred: bool
    too_fast: bool
    tracking_lost: bool

    @property
    def flags(self) -> tuple[str, ...]:
        """Names of the raised flags, in a fixed order (for reports and event measurements)."""
        names = ("too_dark", "camera_covered", "blurred", "too_fast", "tracking_lost")
        return tuple(name for name in names if getattr(self, name))


def turning_speeds(samples: Sequence[OrientationSample]) -> list[float]:
    """Yaw speed (degrees per second) into each sample; 0 for the first and for untracked samples."""
    speeds = [0.0] if samples else []
    for previous, current in zip(samples, samples[1:], strict=False):
        dt = current.timestamp_s - previous.timestamp_s
        known = current.tracked and dt > 0
        speeds.append(abs(current.yaw_deg - previous.yaw_deg) / dt if known else 0.0)
    return speeds


def summarize_quality(
    frames: Sequence[FrameQuality], samples: Sequence[OrientationSample], config: RoomScanConfig
) -> ScanQuality:
    """Fractions of bad frames and speed figures over one scan; a flag is raised above `max_bad_fraction`."""
    count = max(1, len(frames))
    speeds = turning_speeds(samples)
    # a three-sample median keeps one jittery frame pair from counting as a fast turn
    smooth = [float(np.median(speeds[max(0, i - 1) : i + 2])) for i in range(len(speeds))]
    moving = [s for s, sample in zip(smooth, samples, strict=True) if sample.tracked]
    duration = samples[-1].timestamp_s - samples[0].timestamp_s if len(samples) > 1 else 0.0
    swept = sum(abs(b.yaw_deg - a.yaw_deg) for a, b in zip(samples, samples[1:], strict=False) if b.tracked)
    fractions = {
        "dark": sum(f.dark for f in frames) / count,
        "covered": sum(f.covered for f in frames) / count,
        "blurred": sum(f.blurred for f in frames) / count,
        "fast": sum(s > config.max_speed_deg_s for s in smooth) / count,
        "lost": sum(not s.tracked for s in samples) / count,
    }
    limit = config.max_bad_fraction
    return ScanQuality(
        frames=len(frames),
        dark_fraction=fractions["dark"],
        covered_fraction=fractions["covered"],
        blurred_fraction=fractions["blurred"],
        too_fast_fraction=fractions["fast"],
        lost_fraction=fractions["lost"],
        mean_speed_deg_s=swept / duration if duration > 0 else 0.0,
        peak_speed_deg_s=float(np.percentile(moving, 95)) if moving else 0.0,
        too_dark=fractions["dark"] > limit,
        camera_covered=fractions["covered"] > limit,
        blurred=fractions["blurred"] > limit,
        too_fast=fractions["fast"] > limit,
        tracking_lost=fractions["lost"] > limit,
    )
