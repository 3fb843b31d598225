"""Pure-rotation geometry on synthetic views with a known rotation and field of view."""

from __future__ import annotations

import math

import numpy as np
import pytest

from proctor.roomscan.geometry import (
    Intrinsics,
    PointPair,
    calibrate_hfov,
    fit_rotation,
    heading_deg,
    pitch_deg,
)

WIDTH, HEIGHT = 320, 240


def rotation(yaw_deg: float, pitch_deg: float = 0.0) -> np.ndarray:
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    ry = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    rx = np.array([[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]])
    return ry @ rx


def views(turn: np.ndarray, hfov: float, rng: np.random.Generator, noise_px: float = 0.3) -> PointPair:
    """Pixels of random room points seen before and after the camera turned by `turn`."""
    camera = Intrinsics.from_hfov(hfov, WIDTH, HEIGHT)
    earlier = np.column_stack([rng.uniform(10, WIDTH - 10, 150), rng.uniform(10, HEIGHT - 10, 150)])
    rays = camera.bearings(earlier.astype(np.float32))
    later_rays = rays @ turn  # = turn.T applied to each ray
    visible = later_rays[:, 2] > 0.2
    later = camera.project(later_rays[visible]) + rng.normal(0, noise_px, (int(visible.sum()), 2))
    inside = (later[:, 0] >= 0) & (later[:, 0] < WIDTH) & (later[:, 1] >= 0) & (later[:, 1] < HEIGHT)
    return PointPair(earlier=earlier[visible][inside].astype(np.float32), later=later[inside].astype(np.float32))


def test_rotation_and_heading_are_recovered() -> None:
    rng = np.random.default_rng(1)
    truth = rotation(12.0, 3.0)
    pair = views(truth, 62.0, rng)
    fit = fit_rotation(pair.earlier, pair.later, Intrinsics.from_hfov(62.0, WIDTH, HEIGHT))
    assert heading_deg(fit.rotation) == pytest.approx(12.0, abs=0.2)
    assert pitch_deg(fit.rotation) == pytest.approx(3.0, abs=0.2)
    assert fit.residual_px < 1.0


@pytest.mark.parametrize("hfov", [50.0, 62.0, 78.0])
def test_field_of_view_is_calibrated_from_rotations(hfov: float) -> None:
    rng = np.random.default_rng(int(hfov))
    pairs = [views(rotation(yaw, 1.0), hfov, rng) for yaw in (8.0, -10.0, 12.0, 9.0)]
    found = calibrate_hfov(pairs, WIDTH, HEIGHT, (40.0, 100.0))
    assert found == pytest.approx(hfov, abs=1.5)


def test_no_turn_leaves_the_field_of_view_undecided() -> None:
    rng = np.random.default_rng(3)
    pairs = [views(np.eye(3), 62.0, rng) for _ in range(3)]
    assert calibrate_hfov(pairs, WIDTH, HEIGHT, (40.0, 100.0)) is None
