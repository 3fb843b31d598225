"""Pure-rotation camera geometry: pixel ↔ bearing, Kabsch rotation fit, heading, focal self-calibration.

A webcam turned on the spot moves (almost) purely by rotation, so two views of the room are related by
x₀ ~ K R K⁻¹ x₁. Fitting R on unit bearings (Kabsch) instead of an 8-DoF homography keeps the estimate
to the 3 degrees of freedom the motion really has, and the residual tells how good the focal guess is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Points = npt.NDArray[np.float32]
"""N×2 pixel coordinates."""
Matrix = npt.NDArray[np.float64]
GreyImage = npt.NDArray[np.uint8]
"""A downscaled single-channel frame, what tracking and the quality checks work on."""


@dataclass(frozen=True)
class Intrinsics:
    """A pinhole camera without distortion: focal length and principal point, in tracking pixels."""

    focal_px: float
    cx: float
    cy: float

    @classmethod
    def from_hfov(cls, hfov_deg: float, width: int, height: int) -> Intrinsics:
        return cls(focal_px=(width / 2) / math.tan(math.radians(hfov_deg) / 2), cx=width / 2, cy=height / 2)

    def hfov_deg(self, width: int) -> float:
        return math.degrees(2 * math.atan((width / 2) / self.focal_px))

    def bearings(self, points: Points) -> Matrix:
        """Unit viewing rays (N×3, camera axes x right, y down, z forward) of pixel points."""
        rays = np.empty((len(points), 3), dtype=np.float64)
        rays[:, 0] = (points[:, 0] - self.cx) / self.focal_px
        rays[:, 1] = (points[:, 1] - self.cy) / self.focal_px
        rays[:, 2] = 1.0
        rays /= np.linalg.norm(rays, axis=1, keepdims=True)
        return rays

    def project(self, rays: Matrix) -> Matrix:
        """Pixel coordinates (N×2) of rays in front of the camera."""
        z = np.maximum(rays[:, 2], 1e-6)
        return np.stack([rays[:, 0] / z * self.focal_px + self.cx, rays[:, 1] / z * self.focal_px + self.cy], axis=1)


@dataclass(frozen=True)
class RotationFit:
    """The rotation taking bearings of the later view into the earlier view's axes, and its pixel residual."""

    rotation: Matrix
    residual_px: float

    @property
    def angle_deg(self) -> float:
        return rotation_angle_deg(self.rotation)


def kabsch(source: Matrix, target: Matrix) -> Matrix:
    """The rotation R minimising Σ‖R·source_i − target_i‖² (rows are unit vectors)."""
    covariance = target.T @ source
    u, _, vt = np.linalg.svd(covariance)
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    return np.asarray(u @ np.diag([1.0, 1.0, d]) @ vt, dtype=np.float64)


def fit_rotation(earlier: Points, later: Points, intrinsics: Intrinsics) -> RotationFit:
    """Rotation of the camera between two views from matched pixels (later view expressed in earlier axes)."""
    if len(earlier) < 3:
        return RotationFit(rotation=np.eye(3), residual_px=0.0)
    rotation = kabsch(intrinsics.bearings(later), intrinsics.bearings(earlier))
    predicted = intrinsics.project(intrinsics.bearings(later) @ rotation.T)
    residual = float(np.sqrt(np.mean(np.sum((predicted - earlier) ** 2, axis=1))))
    return RotationFit(rotation=rotation, residual_px=residual)


def rotation_angle_deg(rotation: Matrix) -> float:
    """Angle of a rotation matrix, in degrees."""
    cosine = (float(np.trace(rotation)) - 1.0) / 2.0
    return math.degrees(math.acos(max(-1.0, min(1.0, cosine))))


def heading_deg(orientation: Matrix) -> float:
    """Yaw of the optical axis about the first view's vertical axis (positive = turning right), in degrees."""
    forward = orientation[:, 2]
    return math.degrees(math.atan2(float(forward[0]), float(forward[2])))


def pitch_deg(orientation: Matrix) -> float:
    """Elevation of the optical axis above the first view's horizon, in degrees."""
    forward = orientation[:, 2]
    return math.degrees(math.asin(max(-1.0, min(1.0, -float(forward[1])))))


@dataclass(frozen=True)
class PointPair:
    """Matched pixel points of two views (inliers only), kept for the focal self-calibration."""

    earlier: Points
    later: Points


def calibrate_hfov(
    pairs: list[PointPair], width: int, height: int, bounds_deg: tuple[float, float], min_angle_deg: float = 4.0
) -> float | None:
    """The horizontal field of view that best explains all pairs as pure rotations, or None if undecidable.

    Points near the image edge move more than points at the centre for the same turn, by an amount that
    depends on the focal length; a grid search then a finer one over the field of view finds it. Pairs
    with too small a turn carry no information and are left out; a minimum on the search bounds means
    the scan did not constrain the focal (None: keep the guess).
    """
    usable = []
    for pair in pairs:
        guess = Intrinsics.from_hfov(sum(bounds_deg) / 2, width, height)
        if fit_rotation(pair.earlier, pair.later, guess).angle_deg >= min_angle_deg and len(pair.earlier) >= 12:
            usable.append(pair)
    if len(usable) < 2:
        return None

    def cost(hfov: float) -> float:
        intrinsics = Intrinsics.from_hfov(hfov, width, height)
        return sum(fit_rotation(p.earlier, p.later, intrinsics).residual_px ** 2 * len(p.earlier) for p in usable)

    low, high = bounds_deg
    grid = np.arange(low, high + 0.5, 1.0)
    costs = np.array([cost(float(h)) for h in grid])
    best = int(np.argmin(costs))
    if best in (0, len(grid) - 1):
        return None
    fine = np.arange(grid[best] - 1.0, grid[best] + 1.0001, 0.1)
    fine_costs = np.array([cost(float(h)) for h in fine])
    return float(fine[int(np.argmin(fine_costs))])
