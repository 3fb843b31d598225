"""Which directions a scan covered: the union of the yaw intervals the optical axis swept, on the circle.

Coverage is a union, not a sum: a turn that stops and comes back covers the same sector twice but
counts it once, and a stretch where tracking was lost covers nothing (the rotation there is unknown).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FULL_TURN = 360.0
JOIN_TOLERANCE_DEG = 0.5
"""Intervals closer than this are joined (frame-to-frame rounding, not a real gap)."""


@dataclass(frozen=True)
class Sector:
    """A sector of directions from `start_deg` (0–360, turning right) spanning `width_deg`."""

    start_deg: float
    width_deg: float

    @property
    def end_deg(self) -> float:
        return self.start_deg + self.width_deg


@dataclass(frozen=True)
class Coverage:
    """Covered sectors on the circle, their total, and the largest sector left uncovered."""

    covered_deg: float
    largest_gap_deg: float
    sectors: tuple[Sector, ...]

    @property
    def full(self) -> bool:
        return self.covered_deg >= FULL_TURN - 1e-9


@dataclass(frozen=True)
class Interval:
    """A closed interval of unwrapped yaw (degrees; may run past ±360)."""

    low: float
    high: float


def swept_intervals(yaws: Sequence[float], tracked: Sequence[bool]) -> list[Interval]:
    """The unwrapped yaw intervals into each sample whose rotation (from the sample before) is known.

    An untracked sample keeps the last known yaw, and tracking restarts from it, so the step after it
    is measured again; only the step into the untracked sample is unknown and covers nothing.
    """
    intervals = []
    for index in range(1, len(yaws)):
        if tracked[index]:
            a, b = yaws[index - 1], yaws[index]
            intervals.append(Interval(min(a, b), max(a, b)))
    if not intervals and yaws:
        first = next((y for y, ok in zip(yaws, tracked, strict=True) if ok), yaws[0])
        intervals.append(Interval(first, first))
    return intervals


def widen(intervals: Sequence[Interval], margin_deg: float) -> list[Interval]:
    """Each interval grown by `margin_deg` on both sides (what the field of view saw around the axis)."""
    return [Interval(i.low - margin_deg, i.high + margin_deg) for i in intervals]


def merge(intervals: Sequence[Interval], tolerance: float = JOIN_TOLERANCE_DEG) -> list[Interval]:
    """Sorted union of intervals on the line; touching ones (within `tolerance`) are joined."""
    merged: list[Interval] = []
    for interval in sorted(intervals, key=lambda i: i.low):
        if merged and interval.low <= merged[-1].high + tolerance:
            last = merged[-1]
            merged[-1] = Interval(last.low, max(last.high, interval.high))
        else:
            merged.append(interval)
    return merged


def circular_coverage(intervals: Sequence[Interval]) -> Coverage:
    """Fold unwrapped intervals onto 0–360° and measure the union and the largest uncovered sector."""
    if not intervals:
        return Coverage(covered_deg=0.0, largest_gap_deg=FULL_TURN, sectors=())
    on_circle: list[Interval] = []
    for interval in merge(intervals):
        width = interval.high - interval.low
        if width >= FULL_TURN - JOIN_TOLERANCE_DEG:
            return Coverage(covered_deg=FULL_TURN, largest_gap_deg=0.0, sectors=(Sector(0.0, FULL_TURN),))
        start = interval.low % FULL_TURN
        if start + width <= FULL_TURN:
            on_circle.append(Interval(start, start + width))
        else:
            on_circle.append(Interval(start, FULL_TURN))
            on_circle.append(Interval(0.0, start + width - FULL_TURN))
    parts = merge(on_circle)
    if len(parts) > 1 and parts[0].low <= JOIN_TOLERANCE_DEG and parts[-1].high >= FULL_TURN - JOIN_TOLERANCE_DEG:
        wrapped = Interval(parts[-1].low - FULL_TURN, parts[0].high)
        parts = [wrapped, *parts[1:-1]]
    covered = min(FULL_TURN, sum(p.high - p.low for p in parts))
    gaps = [nxt.low - cur.high for cur, nxt in zip(parts, parts[1:], strict=False)]
    gaps.append(parts[0].low + FULL_TURN - parts[-1].high)
    sectors = tuple(Sector(p.low % FULL_TURN, p.high - p.low) for p in parts)
    return Coverage(covered_deg=covered, largest_gap_deg=max(gaps) if gaps else 0.0, sectors=sectors)


def coverage_reached_at(
    timestamps: Sequence[float], yaws: Sequence[float], tracked: Sequence[bool], target_deg: float
) -> float | None:
    """The first time the union of swept yaw reaches `target_deg`, or None if it never does.

    The union only grows with more samples, so a binary search over prefixes finds the moment.
    """

    def reached(count: int) -> bool:
        return circular_coverage(swept_intervals(yaws[:count], tracked[:count])).covered_deg >= target_deg

    if not yaws or not reached(len(yaws)):
        return None
    low, high = 1, len(yaws)
    while low < high:
        middle = (low + high) // 2
        if reached(middle):
            high = middle
        else:
            low = middle + 1
    return timestamps[low - 1]
