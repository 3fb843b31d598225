"""Ground truth: scans rendered from a real-photo panorama along known yaw trajectories."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from proctor.decode import iter_frames
from proctor.events.vocabulary import EventType
from proctor.roomscan.analyzer import RoomScanAnalyzer, ScanProgress, ScanReport
from proctor.roomscan.config import RoomScanConfig
from proctor.roomscan.events import scan_events
from tests.roomscan.conftest import SCENARIOS
from tests.roomscan.render import ScanVideo, eased

TOLERANCE_DEG = 15.0


Videos = Callable[[str], ScanVideo]
Reports = Callable[..., ScanReport]


@pytest.mark.parametrize("name", ["slow_full", "fast_full", "half"])
def test_coverage_within_tolerance_of_truth(scan_video: Videos, scan_report: Reports, name: str) -> None:
    video = scan_video(name)
    report = scan_report(name)
    assert abs(report.coverage_deg - video.true_coverage_deg) <= TOLERANCE_DEG, (report.coverage_deg, video)
    assert abs(report.largest_gap_deg - (360.0 - video.true_coverage_deg)) <= TOLERANCE_DEG
    assert report.duration_s == pytest.approx(video.duration_s, abs=0.2)
    assert report.quality.lost_fraction == 0.0


def test_full_turn_completes_and_half_turn_does_not(scan_report: Reports) -> None:
    full, half = scan_report("slow_full"), scan_report("half")
    assert full.complete and not half.complete
    assert [e.type for e in scan_events(full, RoomScanConfig())][1] is EventType.ROOM_SCAN_COMPLETED
    incomplete = scan_events(half, RoomScanConfig())[1]
    assert incomplete.type is EventType.ROOM_SCAN_INCOMPLETE
    assert incomplete.measurements["reason"] == "coverage"


def test_field_of_view_is_self_calibrated(scan_report: Reports) -> None:
    report = scan_report("half")  # rendered at 70°, the guess is 65°
    assert report.focal_calibrated
    assert report.hfov_deg == pytest.approx(70.0, abs=2.0)


def test_turn_that_stops_and_comes_back_counts_once(scan_video: Videos, scan_report: Reports) -> None:
    video = scan_video("stop_and_back")
    report = scan_report("stop_and_back")
    assert video.true_coverage_deg == pytest.approx(200.0)
    assert abs(report.coverage_deg - 200.0) <= TOLERANCE_DEG  # not 340 (the sum of |Δyaw|)
    assert abs(report.net_turn_deg - 60.0) <= TOLERANCE_DEG


def test_fast_turn_is_flagged_slow_turn_is_not(scan_report: Reports) -> None:
    fast, slow = scan_report("fast_full"), scan_report("slow_full")
    assert "too_fast" in fast.quality.flags
    assert slow.quality.flags == ()
    assert fast.quality.mean_speed_deg_s > 2 * slow.quality.mean_speed_deg_s


def test_time_limit_cuts_the_scan(scan_report: Reports) -> None:
    report = scan_report("slow_full", time_limit_s=5.0)
    assert report.timed_out and not report.complete
    assert report.duration_s <= 5.0
    assert scan_events(report, RoomScanConfig())[1].measurements["reason"] == "timeout"


def test_face_in_the_room_is_a_person_in_room(scan_video: Videos, scan_report: Reports) -> None:
    video = scan_video("face")
    report = scan_report("face", pose_check_hz=1.0)
    assert len(report.persons) == 1
    person = report.persons[0]
    assert abs(person.yaw_deg - (video.face_yaw_deg or 0.0)) <= TOLERANCE_DEG
    events = [e for e in scan_events(report, RoomScanConfig()) if e.type is EventType.PERSON_IN_ROOM]
    assert len(events) == 1 and events[0].evidence_image is not None
    assert events[0].measurements["yaw_deg"] == pytest.approx(person.yaw_deg, abs=0.1)


def test_room_without_people_reports_none(scan_report: Reports) -> None:
    assert scan_report("slow_full", pose_check_hz=1.0).persons == ()


def test_live_progress_calls_the_scan_complete_when_the_turn_reaches_the_minimum(scan_video: Videos) -> None:
    # a progress ring, checked twice a second as the live analysis does: complete as soon as (and only
    # when) the turn has swept the minimum, and the report then agrees
    config = RoomScanConfig(pose_check_hz=0.0)
    knots = SCENARIOS["slow_full"][0]
    yaw = eased(knots)
    swept_min_at = next(t / 100 for t in range(1, 1201) if yaw(t / 100) >= config.min_coverage_deg)
    progress: list[tuple[float, ScanProgress]] = []
    with RoomScanAnalyzer(config) as analyzer:
        for frame in iter_frames(scan_video("slow_full").path):
            analyzer.feed(frame)
            if not progress or frame.timestamp_s - progress[-1][0] >= 0.5:
                progress.append((frame.timestamp_s, analyzer.progress()))
            if progress[-1][1].complete:
                break
        report = analyzer.finish()
    completed_at, last = progress[-1]
    assert last.complete and last.measured and last.coverage_deg >= config.min_coverage_deg
    assert swept_min_at - 0.2 <= completed_at <= swept_min_at + 0.6
    assert all(not p.complete and p.coverage_deg < config.min_coverage_deg for _, p in progress[:-1])
    coverages = [p.coverage_deg for _, p in progress]
    assert coverages == sorted(coverages)
    assert report.complete and report.completed_at_s is not None
    assert report.completed_at_s == pytest.approx(swept_min_at, abs=0.2)
