"""The scan schedule: a pre-exam scan (by default), N random in-exam windows that never overlap, reproducible."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proctor.errors import InputError
from proctor.roomscan.config import RoomScanConfig
from proctor.roomscan.schedule import ScanKind, scan_schedule


def test_pre_exam_scan_is_asked_by_default_and_can_be_left_out() -> None:
    requests = scan_schedule(RoomScanConfig(), 3600.0, seed=1)
    assert len(requests) == 1
    first = requests[0]
    assert first.kind is ScanKind.PRE_EXAM and first.at_s == 0.0
    assert first.attempts == 2 and first.time_limit_s == 60.0 and first.min_coverage_deg == 330.0
    assert scan_schedule(RoomScanConfig(pre_exam=False), 3600.0, seed=1) == []
    in_exam = scan_schedule(RoomScanConfig(pre_exam=False, in_exam_scans=2), 3600.0, seed=1)
    assert [r.kind for r in in_exam] == [ScanKind.IN_EXAM, ScanKind.IN_EXAM]


def test_same_seed_same_schedule_other_seed_other_times() -> None:
    config = RoomScanConfig(in_exam_scans=3)
    assert scan_schedule(config, 3600.0, seed=7) == scan_schedule(config, 3600.0, seed=7)
    assert scan_schedule(config, 3600.0, seed=7) != scan_schedule(config, 3600.0, seed=8)


# no deadline: under pytest -n 2 on a shared machine an example's wall time says nothing about the code
@settings(deadline=None)
@given(
    scans=st.integers(0, 10),
    duration=st.floats(60.0, 4 * 3600.0),
    seed=st.integers(0, 2**32),
    retries=st.integers(0, 3),
)
def test_in_exam_windows_fit_the_exam_and_never_overlap(scans: int, duration: float, seed: int, retries: int) -> None:
    config = RoomScanConfig(in_exam_scans=scans, retries=retries, time_limit_s=45.0, in_exam_margin_s=60.0)
    requests = scan_schedule(config, duration, seed)
    in_exam = [r for r in requests if r.kind is ScanKind.IN_EXAM]
    assert len(in_exam) <= scans
    for request in in_exam:
        assert request.at_s >= config.in_exam_margin_s - 1e-6
        assert request.latest_end_s <= duration - config.in_exam_margin_s + 1e-6
        assert request.attempts == 1 + retries
    for earlier, later in zip(in_exam, in_exam[1:], strict=False):
        assert earlier.latest_end_s <= later.at_s + 1e-6


def test_short_exam_gets_the_scans_that_fit(caplog: pytest.LogCaptureFixture) -> None:
    config = RoomScanConfig(in_exam_scans=5, time_limit_s=60.0, retries=1, in_exam_margin_s=120.0)
    requests = scan_schedule(config, 600.0, seed=0)  # 360 s usable, 120 s per window → 3
    assert sum(r.kind is ScanKind.IN_EXAM for r in requests) == 3
    assert "3 of the 5" in caplog.text


def test_schedule_serialises_for_the_browser() -> None:
    request = scan_schedule(RoomScanConfig(in_exam_scans=1), 3600.0, seed=2)[1]
    assert request.to_json()["kind"] == "in_exam" and request.to_json()["attempts"] == 2


def test_exam_without_duration_is_refused() -> None:
    with pytest.raises(InputError):
        scan_schedule(RoomScanConfig(), 0.0, seed=0)
