"""The event value type: one suspicious (or technical) episode with its measurements and evidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from proctor.events.vocabulary import TECHNICAL, EventType
from proctor.frames import Image

Measurement = float | int | bool | str


class Severity(StrEnum):
    """How much an event matters to a reviewer (set by the rule from its measurements)."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, eq=False)
class Event:
    """A closed episode [start_s, end_s] of one event type.

    `measurements` holds what triggered it (e.g. the face count, the yaw angle, the distance);
    `evidence` is the file name of the JPEG of its peak frame once written; `evidence_image` keeps
    that frame in memory until the report writer stores it.
    """

    type: EventType
    start_s: float
    end_s: float
    severity: Severity
    confidence: float
    peak_s: float
    measurements: Mapping[str, Measurement] = field(default_factory=dict)
    evidence: str | None = None
    evidence_image: Image | None = field(default=None, repr=False)
    number: int | None = None
    """The event's number in its session, in the order events opened (links an open event to its close)."""

    def __post_init__(self) -> None:
        if self.end_s < self.start_s:
            raise ValueError(f"{self.type}: end_s {self.end_s} before start_s {self.start_s}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"{self.type}: confidence {self.confidence} outside [0, 1]")

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def technical(self) -> bool:
        return self.type in TECHNICAL

    def to_json(self) -> dict[str, Any]:
        """The JSON object written as one line of events.jsonl and served by the API."""
        return {
            "type": self.type.value,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "duration_s": round(self.duration_s, 3),
            "severity": self.severity.value,
            "confidence": round(self.confidence, 3),
            "technical": self.technical,
            "peak_s": round(self.peak_s, 3),
            "measurements": dict(self.measurements),
            "evidence": self.evidence,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        """Read back one line of events.jsonl (without the in-memory evidence image)."""
        return cls(
            type=EventType(data["type"]),
            start_s=float(data["start_s"]),
            end_s=float(data["end_s"]),
            severity=Severity(data["severity"]),
            confidence=float(data["confidence"]),
            peak_s=float(data.get("peak_s", data["start_s"])),
            measurements=dict(data.get("measurements", {})),
            evidence=data.get("evidence"),
        )
