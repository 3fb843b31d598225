"""The TVET shares measured as the rules say — "over the whole study period per the working curriculum".

The working curriculum gives each discipline its academic hours; the timetable says when they are taught. At
the end of a report's period the share is judged to date: the hours delivered so far (synchronous classes held,
or distance hours) over the curriculum hours planned so far — each discipline's timetabled hours up to that
moment, never more than the curriculum gives it — counted from the group's first class whatever the period's
start. The projection adds what the timetable still plans after that moment (a synchronous class is taken as
held) and divides by the whole curriculum: a projection short of the limit puts a passing check at risk, since
the rule is judged over the whole study period. Practice hours are left out of both when the check says so.
Disciplines whose timetable holds other hours than the curriculum are listed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from footprint.catalogue.index import exact
from footprint.catalogue.model import Programme
from footprint.compliance.hours import ClassHours

Counts = Callable[[ClassHours], bool]


@dataclass(frozen=True)
class Curriculum:
    """A programme's curriculum hours per discipline (practice left out when asked) and a group's timetable."""

    hours: dict[str, Fraction]
    timetabled: dict[str, Fraction]

    @property
    def total(self) -> Fraction:
        return sum(self.hours.values(), Fraction(0))

    def disagreements(self) -> list[dict[str, Any]]:
        """Disciplines whose timetable holds other hours than the curriculum gives them."""
        return [
            {"discipline": code, "curriculum_hours": float(hours), "timetabled_hours": float(self.timetabled[code])}
            for code, hours in self.hours.items()
            if self.timetabled[code] != hours
        ]


def curriculum_of(programme: Programme, timetable: Sequence[ClassHours], excludes_practice: bool) -> Curriculum:
    kept = [d for d in programme.disciplines if not (excludes_practice and d.practice)]
    hours = {d.code: exact(d.hours or 0) for d in kept}
    timetabled = dict.fromkeys(hours, Fraction(0))
    for item in timetable:
        if item.info.discipline.code in timetabled:
            timetabled[item.info.discipline.code] += item.hours
    return Curriculum(hours, timetabled)


@dataclass(frozen=True)
class ToDate:
    """Hours against the curriculum at one moment: delivered so far, planned so far, and where the timetable
    leads by the end (delivered plus still planned), each discipline capped at its curriculum hours."""

    delivered: Fraction
    planned: Fraction
    projected: Fraction
    curriculum: Fraction

    @property
    def share(self) -> Fraction | None:
        """Delivered over planned to date, in percent (None before anything was planned)."""
        return None if self.planned == 0 else self.delivered * 100 / self.planned

    @property
    def projection(self) -> Fraction | None:
        """Projected over the whole curriculum, in percent."""
        return None if self.curriculum == 0 else self.projected * 100 / self.curriculum

    def to_json(self) -> dict[str, Any]:
        return {
            "curriculum_hours": float(self.curriculum),
            "planned_to_date_hours": float(self.planned),
            "delivered_to_date_hours": float(self.delivered),
            "projected_hours": float(self.projected),
            "projection": None if self.projection is None else round(float(self.projection), 4),
        }


def to_date(
    curriculum: Curriculum, timetable: Sequence[ClassHours], until: int, delivered: Counts, planned: Counts
) -> ToDate:
    """Hours `delivered` by classes that started before `until`, and those `planned` after it, against the
    curriculum (classes of disciplines outside it — practice — do not count)."""
    so_far: dict[str, Fraction] = defaultdict(Fraction)
    done: dict[str, Fraction] = defaultdict(Fraction)
    later: dict[str, Fraction] = defaultdict(Fraction)
    for item in timetable:
        code = item.info.discipline.code
        if code not in curriculum.hours:
            continue
        if item.info.start < until:
            so_far[code] += item.hours
            done[code] += item.hours if delivered(item) else 0
        elif planned(item):
            later[code] += item.hours

    def capped(values: dict[str, Fraction]) -> Fraction:
        return sum((min(curriculum.hours[code], hours) for code, hours in values.items()), Fraction(0))

    ahead = {code: done[code] + later[code] for code in set(done) | set(later)}
    return ToDate(capped(done), capped(so_far), capped(ahead), curriculum.total)
