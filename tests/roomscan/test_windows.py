"""Scan windows inside a longer recording (`proctor analyze --scan START_S:END_S`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from proctor.decode import iter_frames
from proctor.errors import InputError
from proctor.roomscan import RoomScanConfig, ScanWindow, ScanWindowRouter, analyze_scan_windows, parse_scan_window
from tests.roomscan.render import ScanVideo

CONFIG = RoomScanConfig(pose_check_hz=0.0)


def truth(video: ScanVideo, window: ScanWindow) -> float:
    yaws = [y for k, y in enumerate(video.true_yaws) if window.holds(k / video.fps)]
    return max(yaws) - min(yaws)


def test_each_window_is_its_own_scan(scan_video: Callable[[str], ScanVideo]) -> None:
    video = scan_video("stop_and_back")  # 0 → 200° in 4 s, rest, back to 60° at 7.5 s
    windows = [parse_scan_window("4.2:7.4"), parse_scan_window("0:3")]
    reports = analyze_scan_windows(video.path, windows, CONFIG)
    assert [r.start_s for r in reports] == pytest.approx([0.0, 4.2], abs=0.11)
    for report, window in zip(reports, sorted(windows, key=lambda w: w.start_s), strict=True):
        assert abs(report.coverage_deg - truth(video, window)) <= 15.0
        assert window.start_s - 0.01 <= report.start_s and report.end_s <= window.end_s + 0.01


def test_router_fed_by_a_slower_main_pass(scan_video: Callable[[str], ScanVideo]) -> None:
    video = scan_video("stop_and_back")
    router = ScanWindowRouter([ScanWindow(0.0, 3.0)], CONFIG)
    for frame in iter_frames(video.path, 5.0):  # the main analysis rate
        router.feed(frame)
    (report,) = router.finish()
    assert abs(report.coverage_deg - truth(video, ScanWindow(0.0, 3.0))) <= 15.0


@pytest.mark.parametrize("spec", ["12", "5:3", "-1:4", "a:b", "3:3"])
def test_bad_window_is_an_input_error(spec: str) -> None:
    with pytest.raises(InputError, match="--scan"):
        parse_scan_window(spec)


def test_overlapping_windows_are_refused() -> None:
    with pytest.raises(InputError, match="overlap"):
        ScanWindowRouter([ScanWindow(0.0, 10.0), ScanWindow(5.0, 20.0)], CONFIG)
