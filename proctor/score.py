"""The suspicion score 0–100: per-type contributions (share of exam time × weight), recomputable.

The score is derived from events and the analysed duration only, so new weights never need a
re-analysis. It is a triage aid for the examiner, never a verdict.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from proctor.events.event import Event
from proctor.events.vocabulary import SCORED, EventType
from proctor.policy import Weights


@dataclass(frozen=True)
class Contribution:
    """What one event type adds to the score."""

    type: EventType
    events: int
    seconds: float
    share: float
    weight: float
    points: float

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "events": self.events,
            "seconds": round(self.seconds, 2),
            "share": round(self.share, 4),
            "weight": self.weight,
            "points": round(self.points, 2),
        }


@dataclass(frozen=True)
class Score:
    """The total (capped at 100) and the contributions it is made of."""

    total: float
    contributions: tuple[Contribution, ...]

    def to_json(self) -> dict[str, Any]:
        return {"total": round(self.total, 2), "contributions": [c.to_json() for c in self.contributions]}


def compute_score(events: Iterable[Event], duration_s: float, weights: Weights) -> Score:
    """Score events over an analysed duration; technical and informational events add nothing."""
    seconds: dict[EventType, float] = {}
    effective: dict[EventType, float] = {}
    counts: dict[EventType, int] = {}
    for event in events:
        if event.type not in SCORED:
            continue
        factor = 1.0
        if event.type is EventType.FACE_ABSENT and event.measurements.get("body_present") is True:
            factor = weights.face_absent_body_present
        # Events without duration (a person seen once in a scan) count as one second.
        length = max(event.duration_s, 1.0)
        seconds[event.type] = seconds.get(event.type, 0.0) + event.duration_s
        effective[event.type] = effective.get(event.type, 0.0) + length * factor
        counts[event.type] = counts.get(event.type, 0) + 1
    total_time = max(duration_s, 1.0)
    contributions = []
    for event_type in sorted(counts, key=lambda t: t.value):
        share = min(1.0, effective[event_type] / total_time)
        weight = weights.weight(event_type)
        contributions.append(
            Contribution(
                event_type,
                counts[event_type],
                seconds[event_type],
                share,
                weight,
                min(100.0, 100.0 * share * weight),
            )
        )
    contributions.sort(key=lambda c: c.points, reverse=True)
    return Score(total=min(100.0, sum(c.points for c in contributions)), contributions=tuple(contributions))
