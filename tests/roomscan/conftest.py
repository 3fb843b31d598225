"""Rendered scan videos with known yaw trajectories (built once per test process, on demand)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from proctor.decode import iter_frames
from proctor.roomscan.analyzer import ScanReport, analyze_scan_window
from proctor.roomscan.config import RoomScanConfig
from tests.roomscan.render import ScanVideo, build_panorama, eased, render_scan

# name: (yaw knots (t, deg), duration s, blur sub-frames, camera hfov deg, face yaw deg)
SCENARIOS: dict[str, tuple[list[tuple[float, float]], float, int, float, float | None]] = {
    "slow_full": ([(0.0, 0.0), (12.0, 370.0)], 12.0, 1, 62.0, None),
    "fast_full": ([(0.0, 0.0), (3.5, 360.0)], 3.5, 3, 62.0, None),
    "half": ([(0.0, 0.0), (6.0, -180.0)], 6.0, 1, 70.0, None),
    "stop_and_back": ([(0.0, 0.0), (4.0, 200.0), (5.0, 200.0), (7.5, 60.0)], 7.5, 1, 62.0, None),
    "face": ([(0.0, 0.0), (7.0, -220.0)], 7.0, 1, 62.0, -120.0),
}
FPS = 10.0
SIZE = (480, 360)


@pytest.fixture(scope="session")
def scan_video(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], ScanVideo]:
    """Render a named scenario the first time it is asked for (H.264 via PyAV), then reuse it."""
    folder = tmp_path_factory.mktemp("scans")
    cache: dict[str, ScanVideo] = {}
    plain = build_panorama()

    def get(name: str) -> ScanVideo:
        if name not in cache:
            knots, duration, blur, hfov, face = SCENARIOS[name]
            cache[name] = render_scan(
                Path(folder / f"{name}.mp4"),
                eased(knots),
                duration,
                fps=FPS,
                size=SIZE,
                hfov_deg=hfov,
                blur_subframes=blur,
                face_yaw_deg=face,
                panorama=None if face is not None else plain,
            )
        return cache[name]

    return get


@pytest.fixture(scope="session")
def scan_report(scan_video: Callable[[str], ScanVideo]) -> Callable[..., ScanReport]:
    """Analyse a named scenario with config overrides (Pose off unless asked); each result is reused."""
    cache: dict[str, ScanReport] = {}

    def get(name: str, **overrides: object) -> ScanReport:
        key = f"{name}:{sorted(overrides.items())}"
        if key not in cache:
            config = RoomScanConfig.model_validate({"pose_check_hz": 0.0, **overrides})
            cache[key] = analyze_scan_window(iter_frames(scan_video(name).path), config)
        return cache[key]

    return get
