"""Any footprint report recomputed from a catalogue and the facts of the statements it rests on.

One function for every kind of report an evidence bundle may carry — a learner's, group's, programme's or
teacher's indicators, a learner's, group's or programme's compliance, an adverse-weather day — so the platform
builds a bundle's report and the offline verifier recomputes it with the same code from the same statements.
Pure: no database, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from footprint.catalogue.index import CatalogueIndex
from footprint.compliance.report import group_report, held_classes, learner_report, programme_report
from footprint.compliance.weather import weather_day
from footprint.facts.columns import Facts
from footprint.indicators.college import group_indicators, programme_indicators, programme_members, teacher_from_facts
from footprint.indicators.learners import learner_indicators
from footprint.indicators.owners import facts_of
from footprint.indicators.period import Period

REPORTS = {
    "indicators": ("learner", "group", "programme", "teacher"),
    "compliance": ("learner", "group", "programme"),
    "weather-day": ("day",),
}


class UnknownScope(LookupError):
    """A report kind there is no such thing as, or an id the catalogue does not hold."""


@dataclass(frozen=True)
class Scope:
    """Which report: `indicators`, `compliance` or `weather-day`, of what kind, and whose (a date for a day)."""

    report: str
    kind: str
    id: str

    def to_json(self) -> dict[str, str]:
        return {"report": self.report, "kind": self.kind, "id": self.id}


def check_scope(index: CatalogueIndex, scope: Scope) -> None:
    """Raise UnknownScope unless the catalogue holds what the scope names."""
    if scope.kind not in REPORTS.get(scope.report, ()):
        raise UnknownScope(f"no {scope.report} report of a {scope.kind}")
    if scope.kind == "day":
        try:
            date.fromisoformat(scope.id)
        except ValueError:
            raise UnknownScope(f"{scope.id!r} is not a day (YYYY-MM-DD)") from None
        return
    known: dict[str, Any] = {
        "learner": index.learners,
        "group": index.groups,
        "programme": index.programmes,
        "teacher": index.teachers,
    }
    if scope.id not in known[scope.kind]:
        raise UnknownScope(f"no {scope.kind} {scope.id} in the catalogue")


def recompute(index: CatalogueIndex, facts: Facts, scope: Scope, period: Period) -> Any:
    """The report a scope names, computed from these facts over the period (dataclasses, not yet JSON)."""
    check_scope(index, scope)
    if scope.report == "weather-day":
        return weather_day(index, facts, date.fromisoformat(scope.id))
    if scope.report == "compliance":
        make = {"learner": learner_report, "group": group_report, "programme": programme_report}[scope.kind]
        return make(index, scope.id, period, held_classes(index, facts, period))
    if scope.kind == "teacher":
        return teacher_from_facts(index, index.teachers[scope.id], facts, period)
    if scope.kind == "learner":
        learner = index.learners[scope.id]
        return learner_indicators(index, learner, facts_of(facts, index, index.learner_terms[learner.id]), period)
    members = index.learners_by_group[scope.id] if scope.kind == "group" else programme_members(index, scope.id)
    items = [learner_indicators(index, p, facts_of(facts, index, index.learner_terms[p.id]), period) for p in members]
    if scope.kind == "group":
        return group_indicators(index, scope.id, items, period)
    return programme_indicators(index, index.programmes[scope.id], items, period)
