"""The period an indicator covers, its weeks, and the local-time questions (weekend, night) asked of it."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

WEEK_S = 7 * 86400
DAY_S = 86400
NIGHT_START_H = 22
NIGHT_END_H = 6


def iso(moment: int | None) -> str | None:
    """Unix seconds as an ISO 8601 UTC time (None stays None)."""
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Period:
    """[since, until) in Unix seconds; `until` is also the moment "now" for what is due or missing."""

    since: int
    until: int

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise ValueError("a period ends after it starts")

    @property
    def weeks(self) -> int:
        return max(1, -(-(self.until - self.since) // WEEK_S))

    def week_of(self, moments: NDArray[np.int64]) -> NDArray[np.int64]:
        """Week number (0 = the week starting at `since`) of each moment."""
        return np.asarray((moments - self.since) // WEEK_S, dtype=np.int64)

    def contains(self, moments: NDArray[np.int64]) -> NDArray[np.bool_]:
        return np.asarray((moments >= self.since) & (moments < self.until), dtype=np.bool_)

    def to_json(self) -> dict[str, str | None]:
        return {"since": iso(self.since), "until": iso(self.until)}


def local_offset_s(zone: zoneinfo.ZoneInfo, moment: int) -> int:
    """The zone's UTC offset at a moment (Kazakhstan keeps one offset all year)."""
    offset = datetime.fromtimestamp(moment, UTC).astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def weekend_and_night(moments: NDArray[np.int64], offset_s: int) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Which local moments fall on Saturday/Sunday, and which between 22:00 and 06:00."""
    local = moments + offset_s
    weekday = ((local // DAY_S) + 3) % 7  # 1970-01-01 was a Thursday: Monday = 0
    hour = (local % DAY_S) // 3600
    return weekday >= 5, (hour >= NIGHT_START_H) | (hour < NIGHT_END_H)
