"""Coverage is the union of swept yaw on the circle, and the largest gap its complement's biggest piece."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proctor.roomscan.coverage import (
    JOIN_TOLERANCE_DEG,
    Interval,
    circular_coverage,
    coverage_reached_at,
    swept_intervals,
)


def test_back_and_forth_counts_each_direction_once() -> None:
    yaws = [0.0, 100.0, 200.0, 150.0, 60.0, 120.0]
    coverage = circular_coverage(swept_intervals(yaws, [True] * len(yaws)))
    assert coverage.covered_deg == pytest.approx(200.0)
    assert coverage.largest_gap_deg == pytest.approx(160.0)


def test_more_than_a_turn_is_full() -> None:
    coverage = circular_coverage([Interval(-10.0, 355.0)])
    assert coverage.full and coverage.largest_gap_deg == 0.0


def test_sectors_across_zero_are_joined() -> None:
    coverage = circular_coverage([Interval(-30.0, 30.0), Interval(100.0, 130.0)])
    assert coverage.covered_deg == pytest.approx(90.0)
    assert coverage.largest_gap_deg == pytest.approx(200.0)  # from 130° round to 330°
    assert len(coverage.sectors) == 2


def test_the_step_into_a_lost_frame_covers_nothing() -> None:
    yaws = [0.0, 40.0, 80.0, 120.0]
    coverage = circular_coverage(swept_intervals(yaws, [True, True, False, True]))
    assert coverage.covered_deg == pytest.approx(80.0)
    assert [(s.start_deg, s.width_deg) for s in coverage.sectors] == [(0.0, 40.0), (80.0, 40.0)]


def test_no_interval_is_no_coverage() -> None:
    assert circular_coverage([]).largest_gap_deg == 360.0


def test_time_coverage_was_reached() -> None:
    yaws = [float(10 * k) for k in range(40)]
    times = [0.5 * k for k in range(40)]
    assert coverage_reached_at(times, yaws, [True] * 40, 330.0) == pytest.approx(16.5)
    assert coverage_reached_at(times, yaws, [True] * 40, 400.0) is None


# no deadline: under pytest -n 2 on a shared machine an example's wall time says nothing about the code
@settings(deadline=None)
@given(st.lists(st.floats(-720.0, 720.0), min_size=2, max_size=40))
def test_covered_and_gap_never_exceed_a_turn(yaws: list[float]) -> None:
    coverage = circular_coverage(swept_intervals(yaws, [True] * len(yaws)))
    assert 0.0 <= coverage.covered_deg <= 360.0
    assert coverage.covered_deg + coverage.largest_gap_deg <= 360.0 + 1e-6
    # a continuous path covers exactly its range, or everything once it is within the join tolerance of a turn
    swept = max(yaws) - min(yaws)
    expected = 360.0 if swept >= 360.0 - JOIN_TOLERANCE_DEG else swept
    assert coverage.covered_deg == pytest.approx(expected, abs=1e-6)
