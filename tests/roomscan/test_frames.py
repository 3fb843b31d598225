"""The analyzer on in-memory frames: quality flags, lost tracking, rate and time limit, events."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from proctor.errors import InputError
from proctor.events.vocabulary import SCORED, EventType
from proctor.frames import Frame
from proctor.roomscan.analyzer import RoomScanAnalyzer, ScanReport, analyze_scan_window
from proctor.roomscan.config import RoomScanConfig
from proctor.roomscan.events import request_events, scan_events
from proctor.roomscan.schedule import scan_schedule
from tests.roomscan.render import BoxRoom, Camera, build_panorama, eased

CONFIG = RoomScanConfig(pose_check_hz=0.0)
FPS = 10.0


@pytest.fixture(scope="module")
def camera() -> Camera:
    return Camera(build_panorama(), 320, 240, 62.0)


def turn(camera: Camera, yaws: list[float], gain: float = 1.0, start_s: float = 0.0) -> list[Frame]:
    frames = []
    for index, yaw in enumerate(yaws):
        image = np.clip(camera.view(yaw).astype(np.float32) * gain, 0, 255).astype(np.uint8)
        frames.append(Frame(index, start_s + index / FPS, image))
    return frames


def test_quarter_turn_on_a_later_timeline(camera: Camera) -> None:
    report = analyze_scan_window(turn(camera, [3.0 * k for k in range(31)], start_s=100.0), CONFIG)
    assert report.start_s == 100.0 and report.duration_s == pytest.approx(3.0)
    assert report.coverage_deg == pytest.approx(90.0, abs=5.0)
    assert report.quality.flags == ()


def test_a_scan_begun_by_a_click_starts_at_the_click_and_its_time_limit_runs_from_there(camera: Camera) -> None:
    # live, the candidate presses start at 99.5 s; the frames taken before (delivered after the click) are not
    # the scan's, and the time limit counts from the click
    config = CONFIG.model_copy(update={"time_limit_s": 5.0})
    frames = turn(camera, [3.0 * k for k in range(60)], start_s=99.2)  # 99.2 s .. 105.1 s, 10 a second
    with RoomScanAnalyzer(config, begun_s=99.5) as analyzer:
        for frame in frames:
            analyzer.feed(frame)
        report = analyzer.finish()
    assert report.start_s == 99.5
    assert report.trajectory[0].timestamp_s == pytest.approx(99.5)  # 99.2-99.4 left out
    assert report.end_s == pytest.approx(104.5)  # the frames after 99.5 + 5 s are past the limit
    assert report.frames_after_limit == 6


def test_dark_room_is_flagged(camera: Camera) -> None:
    report = analyze_scan_window(turn(camera, [3.0 * k for k in range(15)], gain=0.25), CONFIG)
    assert "too_dark" in report.quality.flags


def test_covered_camera_covers_nothing() -> None:
    frames = [Frame(k, k / FPS, np.full((240, 320, 3), 30, np.uint8)) for k in range(20)]
    report = analyze_scan_window(frames, CONFIG)
    assert report.coverage_deg == 0.0 and report.largest_gap_deg == 360.0
    assert {"camera_covered", "tracking_lost"} <= set(report.quality.flags)
    event = scan_events(report, CONFIG)[1]
    assert event.type is EventType.ROOM_SCAN_INCOMPLETE and event.confidence < 0.2


def test_frames_above_the_analysis_rate_are_skipped(camera: Camera) -> None:
    frames = turn(camera, [1.0 * k for k in range(30)])  # 10 fps in
    report = analyze_scan_window(frames, RoomScanConfig(pose_check_hz=0.0, analysis_rate_hz=5.0))
    assert report.frames == 15
    assert report.coverage_deg == pytest.approx(28.0, abs=3.0)


def test_empty_window_is_an_input_error() -> None:
    with pytest.raises(InputError):
        analyze_scan_window([], CONFIG)


@pytest.fixture(scope="module")
def half_turn(camera: Camera) -> ScanReport:
    return analyze_scan_window(turn(camera, [6.0 * k for k in range(31)]), CONFIG)


def test_only_incomplete_and_person_are_scored(half_turn: ScanReport) -> None:
    complete = replace(half_turn, coverage_deg=350.0, largest_gap_deg=10.0)
    for report in (half_turn, complete):
        types = [e.type for e in scan_events(report, CONFIG)]
        assert types[0] is EventType.ROOM_SCAN_REQUESTED
        scored = [t for t in types if t in SCORED]
        assert scored == ([] if report.complete else [EventType.ROOM_SCAN_INCOMPLETE])


def test_retry_that_succeeds_is_not_held_against_the_candidate(half_turn: ScanReport) -> None:
    request = scan_schedule(RoomScanConfig(retries=1), 3600.0, seed=0)[0]
    retry = replace(half_turn, start_s=70.0, end_s=90.0, coverage_deg=350.0, largest_gap_deg=10.0)
    types = [e.type for e in request_events(request, [half_turn, retry])]
    assert types == [EventType.ROOM_SCAN_REQUESTED, EventType.ROOM_SCAN_COMPLETED]
    failed_twice = [e for e in request_events(request, [half_turn, half_turn]) if e.type in SCORED]
    assert [e.type for e in failed_twice] == [EventType.ROOM_SCAN_INCOMPLETE]
    assert failed_twice[0].measurements["attempt"] == 2


def test_scan_never_done_is_incomplete() -> None:
    request = scan_schedule(RoomScanConfig(in_exam_scans=1), 3600.0, seed=0)[1]
    events = request_events(request, [])
    assert events[-1].type is EventType.ROOM_SCAN_INCOMPLETE
    assert events[-1].measurements["reason"] == "not_done"
    assert events[-1].start_s == request.at_s


def test_sudden_fast_turn_keeps_tracking(camera: Camera) -> None:
    yaws = [0.0, 2.0, 4.0, 16.0, 34.0, 56.0, 80.0, 104.0, 120.0]  # jumps of up to 24° between frames
    report = analyze_scan_window(turn(camera, yaws), CONFIG)
    assert report.quality.lost_fraction == 0.0
    assert report.coverage_deg == pytest.approx(120.0, abs=6.0)


@pytest.mark.parametrize("radius_m", [0.0, 0.3])
def test_loop_closure_removes_the_parallax_of_an_off_axis_webcam(radius_m: float) -> None:
    """A webcam 30 cm in front of its turning axis in a 3.5 × 4 m room: each step looks ~10 % too large."""
    room = BoxRoom(320, 240, 62.0)
    path = eased([(0.0, 0.0), (1.0, 360.0)])
    frames = [Frame(k, k / 5, room.view(path(k / 45), radius_m)) for k in range(46)]
    closed = analyze_scan_window(frames, CONFIG)
    assert abs(closed.net_turn_deg - 360.0) <= 15.0 and closed.complete
    if radius_m:
        drifted = analyze_scan_window(frames, RoomScanConfig(pose_check_hz=0.0, loop_closure=False))
        assert drifted.net_turn_deg > 380.0


def test_candidate_facing_the_webcam_before_the_turn_is_not_another_person() -> None:
    seat = Camera(build_panorama(face_yaw_deg=0.0), 320, 240, 62.0)
    frames = turn(seat, [0.0] * 8 + [6.0 * k for k in range(1, 16)])
    assert analyze_scan_window(frames, CONFIG).persons == ()
    anyone = analyze_scan_window(frames, RoomScanConfig(pose_check_hz=0.0, candidate_sector_deg=0.0))
    assert len(anyone.persons) == 1 and abs(anyone.persons[0].yaw_deg) <= 10.0


def test_scan_stopping_short_of_the_minimum_is_measured_against_the_start_view() -> None:
    """320° true with a webcam 15 cm off-axis: integration alone says ~335° (complete), the loop says 320°."""
    room = BoxRoom(480, 360, 62.0)  # downscaled for tracking, as a 640×480 webcam frame is
    path = eased([(0.0, 0.0), (1.0, 320.0)])
    frames = [Frame(k, k / 5, room.view(path(k / 40), 0.15)) for k in range(41)]
    closed = analyze_scan_window(frames, CONFIG)
    assert abs(closed.coverage_deg - 320.0) <= 8.0 and not closed.complete
    drifted = analyze_scan_window(frames, RoomScanConfig(pose_check_hz=0.0, loop_closure=False))
    assert drifted.coverage_deg > closed.coverage_deg + 8.0
