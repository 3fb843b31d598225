"""The period an indicator covers, its weeks, and the local-time questions (weekend, night) asked of it."""

from __future__ import annotations

import functools
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


def _offset_s(zone: zoneinfo.ZoneInfo, moment: int) -> int:
    offset = datetime.fromtimestamp(moment, UTC).astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


@dataclass(frozen=True)
class LocalTime:
    """A zone's UTC offsets over a period: `offsets[i]` holds from `starts[i]` (Almaty went from +6 to +5 on
    1 March 2024; zones with summer time change twice a year), so each moment is read in its own offset."""

    starts: tuple[int, ...]
    offsets: tuple[int, ...]

    def offset_of(self, moments: NDArray[np.int64]) -> NDArray[np.int64]:
        which = np.searchsorted(np.asarray(self.starts, dtype=np.int64), moments, side="right") - 1
        return np.asarray(self.offsets, dtype=np.int64)[np.clip(which, 0, None)]

    def weekend_and_night(self, moments: NDArray[np.int64]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """Which moments fall on a local Saturday/Sunday, and which between 22:00 and 06:00 local time."""
        local = moments + self.offset_of(moments)
        weekday = ((local // DAY_S) + 3) % 7  # 1970-01-01 was a Thursday: Monday = 0
        hour = (local % DAY_S) // 3600
        return weekday >= 5, (hour >= NIGHT_START_H) | (hour < NIGHT_END_H)


@functools.lru_cache(maxsize=64)
def local_time(zone: zoneinfo.ZoneInfo, since: int, until: int) -> LocalTime:
    """The zone's offsets over [since, until): looked at once a day, a change found to the second in between."""
    starts, offsets = [since], [_offset_s(zone, since)]
    day = since
    while day < until:
        following = min(day + DAY_S, until)
        if _offset_s(zone, following) != offsets[-1]:
            low, high = day, following  # the offset at `low` is the old one, at `high` the new one
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if _offset_s(zone, middle) == offsets[-1] else (low, middle)
            starts.append(high)
            offsets.append(_offset_s(zone, high))
        day = following
    return LocalTime(tuple(starts), tuple(offsets))
