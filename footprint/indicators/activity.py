"""Logging-in discipline and the study of materials, from one person's facts.

Time on material is an estimate: each view or launch counts until the person's next statement, at most
30 minutes (a browser left open is not study); a `terminated` statement's own duration is used when the
content sends one (cmi5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from footprint.catalogue.model import Discipline
from footprint.facts.columns import Facts
from footprint.indicators.period import DAY_S, LocalTime, Period, iso
from footprint.vocabulary import Category, Kind, module_id

VIEW_CAP_S = 30 * 60
COMPLETED, UNCOMPLETED = int(Kind.COMPLETED), int(Kind.UNCOMPLETED)
VIEWED, LAUNCHED = int(Kind.VIEWED), int(Kind.LAUNCHED)


@dataclass(frozen=True)
class Logins:
    logins: int
    per_week: list[int]
    mean_per_week: float
    longest_gap_days: float
    """The longest time without a login in the period (its start and end count as bounds)."""
    last_access: str | None
    """The person's latest statement of any kind in the period."""
    statements: int
    weekend_share: float | None
    night_share: float | None
    """Share of the person's statements at weekends / between 22:00 and 06:00 local time."""


@dataclass(frozen=True)
class Materials:
    """One discipline's materials as one learner studied them (distinct modules)."""

    discipline: str
    viewed: int
    launched: int
    completed: int
    listed: int | None
    """How many materials the catalogue lists for the discipline (None: no list)."""
    progress: float | None
    """Share of the listed materials the learner completed."""
    minutes_estimate: float


def logins(facts: Facts, period: Period, clock: LocalTime) -> Logins:
    """Logins per week, the longest gap, the last access and the weekend / night shares."""
    inside = period.contains(facts.at)
    at = facts.at[inside]
    login_at = np.sort(at[facts.kind[inside] == Kind.LOGIN])
    per_week = np.bincount(period.week_of(login_at), minlength=period.weeks)[: period.weeks]
    bounds = np.concatenate(([period.since], login_at, [period.until]))
    weekend, night = clock.weekend_and_night(at)
    count = int(at.size)
    return Logins(
        logins=int(login_at.size),
        per_week=[int(n) for n in per_week],
        mean_per_week=round(login_at.size / period.weeks, 2),
        longest_gap_days=round(float(np.diff(bounds).max()) / DAY_S, 2),
        last_access=iso(int(at.max())) if count else None,
        statements=count,
        weekend_share=round(float(weekend.mean()), 4) if count else None,
        night_share=round(float(night.mean()), 4) if count else None,
    )


def _time_on(facts: Facts) -> np.ndarray:
    """Seconds credited to each fact (views and launches until the next statement, capped)."""
    order = np.argsort(facts.at, kind="stable")
    at = facts.at[order]
    following = np.append(at[1:], at[-1:]) if at.size else at
    credited = np.minimum(following - at, VIEW_CAP_S).astype(np.float64)
    reading = np.isin(facts.kind[order], (int(Kind.VIEWED), int(Kind.LAUNCHED)))
    seconds = np.where(reading, credited, 0.0)
    terminated = (facts.kind[order] == Kind.TERMINATED) & ~np.isnan(facts.duration_s[order])
    seconds = np.where(terminated, facts.duration_s[order], seconds)
    out = np.zeros(len(facts))
    out[order] = seconds
    return out


def completed_objects(facts: Facts, mask: np.ndarray) -> set[int]:
    """Objects whose latest completion event (completed without a score, or uncompleted) completes them."""
    kinds = facts.kind[mask]
    completes = (kinds == COMPLETED) & np.isnan(facts.high[mask]) & (facts.completion[mask] != 0)
    events = np.flatnonzero(completes | (kinds == UNCOMPLETED))
    if not events.size:
        return set()
    order = events[np.argsort(facts.at[mask][events], kind="stable")][::-1]  # newest first
    objects = facts.object[mask][order]
    _, newest = np.unique(objects, return_index=True)
    done = objects[newest][kinds[order][newest] == COMPLETED]
    return {int(number) for number in done}


def materials(facts: Facts, disciplines: list[Discipline], period: Period) -> list[Materials]:
    """Viewed / launched / completed materials and time on them, per discipline with an LMS course."""
    inside = period.contains(facts.at) & (facts.category == Category.MODULE)
    credited = _time_on(facts)
    results = []
    for discipline in disciplines:
        course = facts.term(discipline.course)
        if not discipline.course:
            continue
        mask = inside & (facts.course == course) & (course != 0)
        objects, kinds = facts.object[mask], facts.kind[mask]
        completed = completed_objects(facts, mask)
        listed = {facts.term(module_id(m)) for m in discipline.materials}
        results.append(
            Materials(
                discipline=discipline.code,
                viewed=int(np.unique(objects[kinds == VIEWED]).size),
                launched=int(np.unique(objects[kinds == LAUNCHED]).size),
                completed=len(completed),
                listed=len(discipline.materials) if discipline.materials else None,
                progress=round(len(completed & listed) / len(discipline.materials), 4)
                if discipline.materials
                else None,
                minutes_estimate=round(float(credited[mask].sum()) / 60, 1),
            )
        )
    return results
