"""The timetable's academic hours by how they were delivered: in person, synchronous (held or not) or
asynchronous, with the classes that a distance episode moved online and the approved list in force.

A group's distance episode (weather, emergency) turns its in-person classes inside the episode into
distance classes (only the classes the order names, when it names some); a learner's own episode
(medical, competition, parents) does so for that learner. Hours are exact fractions, so a share is
compared with its limit without rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction

from footprint.catalogue.index import CatalogueIndex, ClassInfo, epoch
from footprint.catalogue.model import Episode
from footprint.indicators.period import Period

DISTANCE = ("synchronous", "asynchronous")


@dataclass(frozen=True)
class ClassHours:
    """One class of a group as the rules see it."""

    info: ClassInfo
    mode: str
    """How it was delivered for the group: the timetable's mode, or `synchronous` when an episode moved it."""
    episode: Episode | None
    held: bool | None
    """For a synchronous class of the timetable: whether its teacher was connected."""
    approved: bool
    """Whether the discipline was on an approved distance-learning list on the class's date."""

    @property
    def hours(self) -> Fraction:
        return self.info.hours

    @property
    def practice(self) -> bool:
        return self.info.discipline.practice

    @property
    def distance(self) -> bool:
        return self.mode in DISTANCE


def covers(episode: Episode, info: ClassInfo) -> bool:
    """Whether an episode's period overlaps the class (and names it, when it names classes)."""
    overlaps = epoch(episode.start) < info.end and epoch(episode.end) > info.start
    return overlaps and (not episode.classes or info.id in episode.classes)


def local_day(index: CatalogueIndex, moment: int) -> date:
    return datetime.fromtimestamp(moment, index.zone).date()


def approved(index: CatalogueIndex, info: ClassInfo) -> bool:
    day = local_day(index, info.start)
    for item in index.catalogue.approved_lists:
        starts = item.valid_from or item.order.date
        if (
            item.programme == info.programme.id
            and info.discipline.code in item.disciplines
            and starts <= day
            and (item.valid_until is None or day <= item.valid_until)
        ):
            return True
    return False


def group_timetable(index: CatalogueIndex, group_id: str, held: Mapping[str, bool]) -> list[ClassHours]:
    """Every class of the group's timetable, as delivered (a synchronous class not in `held` was not held)."""
    episodes = [e for e in index.catalogue.episodes if e.group == group_id]
    result = []
    for info in index.classes_by_group.get(group_id, []):
        mode, moved_by = info.session.mode, None
        if mode == "in_person":
            moved_by = next((e for e in episodes if covers(e, info)), None)
            mode = "synchronous" if moved_by else mode
        is_held = held.get(info.id, False) if info.session.mode == "synchronous" else None
        result.append(ClassHours(info, mode, moved_by, is_held, approved(index, info)))
    return result


def inside(classes: Sequence[ClassHours], period: Period) -> list[ClassHours]:
    """The classes that start inside the period."""
    return [c for c in classes if period.since <= c.info.start < period.until]


def group_hours(index: CatalogueIndex, group_id: str, period: Period, held: Mapping[str, bool]) -> list[ClassHours]:
    """The group's classes that start inside the period, as delivered."""
    return inside(group_timetable(index, group_id, held), period)


def for_learner(classes: Sequence[ClassHours], own: Sequence[Episode]) -> list[ClassHours]:
    """A group's classes as one learner had them: in-person classes inside the learner's own episodes
    become distance classes."""
    result = []
    for item in classes:
        moved_by = next((e for e in own if covers(e, item.info)), None) if item.mode == "in_person" else None
        result.append(ClassHours(item.info, "synchronous", moved_by, item.held, item.approved) if moved_by else item)
    return result


def total(classes: Sequence[ClassHours]) -> Fraction:
    return sum((c.hours for c in classes), Fraction(0))
