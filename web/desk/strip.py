"""The timeline strip under the video, laid out on the server: one lane per misconduct type, a lane of technical
events, a lane of milestones (room scans, the identity check) and the identity checks as ticks, with a time axis.
The template draws it as SVG; a click on it seeks the video (the page's module)."""

from __future__ import annotations

from dataclasses import dataclass

from proctor.review.session_view import SessionView

WIDTH = 1000.0
LANE_H = 14.0
GAP = 4.0
MIN_BAR = 2.0
"""An event shorter than a pixel still shows."""
AXIS_STEPS = (10, 30, 60, 120, 300, 600, 900, 1800, 3600)


@dataclass(frozen=True)
class Bar:
    seq: int
    x: float
    width: float
    severity: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Lane:
    key: str
    """An event type, or `technical` for every technical type together."""
    technical: bool
    y: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Pin:
    kind: str
    x: float
    ok: bool
    at_s: float


@dataclass(frozen=True)
class Tick:
    x: float
    at_s: float


@dataclass(frozen=True)
class StripLayout:
    width: float
    height: float
    duration_s: float
    lanes: tuple[Lane, ...]
    milestones_y: float
    pins: tuple[Pin, ...]
    checks_y: float
    checks: tuple[Pin, ...]
    axis_y: float
    axis: tuple[Tick, ...]


def _x(seconds: float, duration_s: float) -> float:
    return round(max(0.0, min(WIDTH, seconds / duration_s * WIDTH)), 2)


def strip_svg(view: SessionView) -> StripLayout:
    """The strip's geometry for a session (its whole duration is the strip's width)."""
    duration = max(view.duration_s, 1.0)
    lanes = []
    y = 0.0
    for row in view.strip:
        bars = tuple(
            Bar(
                m.seq,
                _x(m.start_s, duration),
                max(MIN_BAR, _x(m.end_s, duration) - _x(m.start_s, duration)),
                m.severity,
                m.start_s,
                m.end_s,
            )
            for m in row.marks
        )
        lanes.append(Lane(row.key, row.technical, y, bars))
        y += LANE_H + GAP
    milestones_y = y
    pins = tuple(Pin(m.kind, _x(m.at_s, duration), m.ok, m.at_s) for m in view.milestones)
    checks_y = milestones_y + LANE_H + GAP
    checks = tuple(Pin("identity", _x(c.at_s, duration), c.ok, c.at_s) for c in view.identity_checks)
    axis_y = checks_y + LANE_H + GAP
    step = next((s for s in AXIS_STEPS if duration / s <= 10), AXIS_STEPS[-1])
    axis = tuple(Tick(_x(t, duration), float(t)) for t in range(0, int(duration) + 1, step))
    return StripLayout(WIDTH, axis_y + 14.0, duration, tuple(lanes), milestones_y, pins, checks_y, checks, axis_y, axis)
