"""When room scans are asked for: always once before the exam, plus N at random moments during it.

The core produces the schedule so the browser page only has to show the prompt and mark the window.
Random moments are drawn one per equal slice of the exam (stratified), so two scans never overlap and
never bunch together, and the same seed always gives the same schedule (reproducible, auditable).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from proctor.errors import InputError
from proctor.roomscan.config import RoomScanConfig

logger = logging.getLogger(__name__)


class ScanKind(StrEnum):
    """Why a scan is asked for."""

    PRE_EXAM = "pre_exam"
    IN_EXAM = "in_exam"


@dataclass(frozen=True)
class ScanRequest:
    """One prompt to scan the room: when (exam time), how long the candidate has, how many tries.

    The pre-exam scan is at `at_s` 0 on the exam clock, which starts only once it is done. Each attempt
    has `time_limit_s`; a failed attempt may be repeated `attempts - 1` times right after it.
    """

    number: int
    kind: ScanKind
    at_s: float
    time_limit_s: float
    attempts: int
    min_coverage_deg: float

    def __post_init__(self) -> None:
        if self.at_s < 0 or self.time_limit_s <= 0 or self.attempts < 1:
            raise ValueError(f"invalid scan request {self}")

    @property
    def latest_end_s(self) -> float:
        """The end of the window if every attempt runs to its time limit."""
        return self.at_s + self.time_limit_s * self.attempts

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScanRequest:
        return cls(
            number=int(data["number"]),
            kind=ScanKind(data["kind"]),
            at_s=float(data["at_s"]),
            time_limit_s=float(data["time_limit_s"]),
            attempts=int(data["attempts"]),
            min_coverage_deg=float(data["min_coverage_deg"]),
        )

    def to_json(self) -> dict[str, Any]:
        """What the browser page needs to show the prompt and mark the window."""
        return {
            "number": self.number,
            "kind": self.kind.value,
            "at_s": round(self.at_s, 3),
            "time_limit_s": self.time_limit_s,
            "attempts": self.attempts,
            "min_coverage_deg": self.min_coverage_deg,
        }


def scan_schedule(config: RoomScanConfig, exam_duration_s: float, seed: int) -> list[ScanRequest]:
    """The pre-exam scan (unless the policy waives it) and `config.in_exam_scans` random in-exam scans, in
    time order.

    In-exam scans keep `in_exam_margin_s` from the start and the end of the exam; if the exam is too
    short for all of them, as many as fit are scheduled and a warning is logged.
    """
    if exam_duration_s <= 0:
        raise InputError(f"exam duration must be positive, got {exam_duration_s}")
    attempts = 1 + config.retries
    window = config.time_limit_s * attempts

    def request(number: int, kind: ScanKind, at_s: float) -> ScanRequest:
        return ScanRequest(number, kind, at_s, config.time_limit_s, attempts, config.min_coverage_deg)

    requests = [request(0, ScanKind.PRE_EXAM, 0.0)] if config.pre_exam else []
    wanted = config.in_exam_scans
    if wanted == 0:
        return requests
    usable = exam_duration_s - 2 * config.in_exam_margin_s
    fitting = max(0, int(usable // window)) if usable > 0 else 0
    count = min(wanted, fitting)
    if count < wanted:
        logger.warning(
            "room scan: exam of %.0f s leaves room for %d of the %d in-exam scans asked", exam_duration_s, count, wanted
        )
    rng = random.Random(seed)
    slice_s = usable / count if count else 0.0
    for k in range(count):
        slice_start = config.in_exam_margin_s + k * slice_s
        at_s = slice_start + rng.uniform(0.0, slice_s - window)
        requests.append(request(k + 1, ScanKind.IN_EXAM, at_s))
    return requests
