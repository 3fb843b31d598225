"""Compliance reports of a programme, a group or a learner over a period: every check of the rule tables in
force, with its clause, value, limit, margin and status; every distance episode with its ground and evidence.

A programme's check takes the worst of its groups' (its credit checks are the programme's own); the
report's status is its worst check's. A synchronous class counts as held when its teacher joined it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from footprint.catalogue.index import CatalogueIndex
from footprint.catalogue.model import Episode, Programme
from footprint.compliance.checks import (
    CheckResult,
    credit_share,
    distance_hours,
    distance_share,
    episode_record,
    episodes_without_evidence,
    outside_approved_list,
    synchronous_share,
)
from footprint.compliance.hours import ClassHours, for_learner, group_timetable, inside, total
from footprint.compliance.rules import Check, RuleTable, rule_tables
from footprint.facts.columns import Facts
from footprint.indicators.attendance import Timeline, synchronous_classes, teacher_class
from footprint.indicators.owners import owners, split
from footprint.indicators.period import Period

SEVERITY = {"fail": 4, "at_risk": 3, "not_assessed": 2, "pass": 1, "not_applicable": 0}


@dataclass(frozen=True)
class RulesUsed:
    table: str
    version: str | None
    effective_from: str | None
    source: str | None


@dataclass(frozen=True)
class ComplianceReport:
    scope: str
    id: str
    programme: str
    period: dict[str, str | None]
    rules: list[RulesUsed]
    status: str
    checks: list[CheckResult]
    hours: dict[str, float]
    episodes: list[dict[str, Any]]
    groups: dict[str, str]
    """A programme's groups and the status of each."""


def held_classes(index: CatalogueIndex, facts: Facts, period: Period) -> dict[str, bool]:
    """Whether each synchronous class that started before the period's end was held (its teacher joined it): the
    TVET shares count from the group's first class, whatever the period's start."""
    teachers = index.catalogue.teachers
    terms = [index.teacher_terms[t.id] for t in teachers]
    own = split(facts, owners(facts, index, terms), len(teachers))
    first = min([c.start for c in index.classes], default=period.since)
    so_far = Period(min(first, period.since), period.until)
    held: dict[str, bool] = {}
    for teacher, mine in zip(teachers, own, strict=True):
        timeline = Timeline(mine)
        for info in synchronous_classes(index.classes_by_teacher.get(teacher.id, []), so_far):
            held[info.id] = teacher_class(timeline, info).held
    return held


def _last_day(index: CatalogueIndex, period: Period) -> Any:
    return datetime.fromtimestamp(period.until - 1, index.zone).date()


def checks_in_force(
    index: CatalogueIndex, programme: Programme, period: Period, tables: Sequence[RuleTable]
) -> tuple[list[Check], list[RulesUsed], list[CheckResult]]:
    """The checks that apply to the programme on the period's last day, the tables used, and a
    `not_assessed` result for each table of its level with no version in force that day."""
    day = _last_day(index, period)
    checks: list[Check] = []
    used: list[RulesUsed] = []
    missing: list[CheckResult] = []
    for table in tables:
        if not any(c.applies.level == programme.level for v in table.versions for c in v.checks):
            continue
        version = table.in_force(day)
        if version is None:
            used.append(RulesUsed(table.table, None, None, None))
            first = min(v.effective_from for v in table.versions)
            note = f"no version of the {table.table} rule table is in force on {day} (the first is from {first})"
            missing.append(
                CheckResult(
                    f"{table.table}.in_force", table.title, "—", "—", None, "—", None, "not_assessed", {"reason": note}
                )
            )
            continue
        used.append(RulesUsed(table.table, version.version, version.effective_from.isoformat(), version.source))
        checks += [c for c in version.checks if c.applies.matches(programme)]
    return checks, used, missing


def _hours(classes: Sequence[ClassHours]) -> dict[str, float]:
    def hours(keep: Any) -> float:
        return float(total([c for c in classes if keep(c)]))

    return {
        "total": hours(lambda c: True),
        "practice": hours(lambda c: c.practice),
        "in_person": hours(lambda c: c.mode == "in_person"),
        "synchronous_planned": hours(lambda c: c.info.session.mode == "synchronous"),
        "synchronous_held": hours(lambda c: c.info.session.mode == "synchronous" and c.held),
        "asynchronous": hours(lambda c: c.mode == "asynchronous"),
        "moved_by_episodes": hours(lambda c: c.episode is not None),
    }


def _status(results: Sequence[CheckResult]) -> str:
    judged = [r.status for r in results if r.status != "not_applicable"]
    return max(judged, key=SEVERITY.__getitem__) if judged else "not_applicable"


def _relevant(index: CatalogueIndex, group_id: str, period: Period | None) -> list[Episode]:
    """The episodes of the group and of its learners (those overlapping the period, when one is given)."""
    members = {p.id for p in index.learners_by_group.get(group_id, [])}
    return [
        e
        for e in index.catalogue.episodes
        if (e.group == group_id or e.learner in members)
        and (period is None or (e.start.timestamp() < period.until and e.end.timestamp() > period.since))
    ]


def _group_checks(
    index: CatalogueIndex,
    group_id: str,
    period: Period,
    held: dict[str, bool],
    checks: Sequence[Check],
    learner: str | None,
) -> tuple[list[CheckResult], list[ClassHours], list[Episode]]:
    """The checks of a group (or of one of its learners): the TVET shares over the whole timetable to the period's
    end against the curriculum, the rest over the period."""
    timetable = group_timetable(index, group_id, held)
    programme = index.programme_of_group(group_id)
    members = index.learners_by_group.get(group_id, [])
    everything = _relevant(index, group_id, None)
    if learner is not None:
        person = index.learners[learner]
        members = [person]
        everything = [e for e in everything if e.group == group_id or e.learner == learner]
        timetable = for_learner(timetable, [e for e in everything if e.learner == learner])
    classes = inside(timetable, period)
    episodes = [e for e in everything if e.start.timestamp() < period.until and e.end.timestamp() > period.since]
    results = []
    for check in checks:
        if check.measure == "synchronous_share":
            results.append(synchronous_share(check, timetable, programme, period))
        elif check.measure == "distance_share":
            whole = group_timetable(index, group_id, held)  # each learner's own episodes are applied in the check
            results.append(distance_share(check, whole, programme, members, everything, period))
        elif check.measure == "distance_hours":
            results.append(distance_hours(check, classes, members, episodes, period))
        elif check.measure == "distance_hours_outside_approved_list":
            results.append(outside_approved_list(check, classes))
        elif check.measure == "episodes_without_evidence":
            results.append(episodes_without_evidence(check, episodes, classes))
        else:
            results.append(credit_share(check, programme))
    return results, classes, episodes


def _report(
    scope: str,
    item: str,
    programme: Programme,
    period: Period,
    used: list[RulesUsed],
    results: list[CheckResult],
    classes: Sequence[ClassHours],
    episodes: Sequence[Episode],
    checks: Sequence[Check],
    groups: dict[str, str],
) -> ComplianceReport:
    evidence = next((c for c in checks if c.measure == "episodes_without_evidence"), None)
    return ComplianceReport(
        scope=scope,
        id=item,
        programme=programme.id,
        period=period.to_json(),
        rules=used,
        status=_status(results),
        checks=results,
        hours=_hours(classes),
        episodes=[episode_record(evidence, e, classes) for e in episodes],
        groups=groups,
    )


def group_report(
    index: CatalogueIndex,
    group_id: str,
    period: Period,
    held: dict[str, bool],
    tables: Sequence[RuleTable] | None = None,
) -> ComplianceReport:
    programme = index.programme_of_group(group_id)
    checks, used, missing = checks_in_force(index, programme, period, tables or rule_tables())
    results, classes, episodes = _group_checks(index, group_id, period, held, checks, None)
    return _report("group", group_id, programme, period, used, missing + results, classes, episodes, checks, {})


def learner_report(
    index: CatalogueIndex,
    learner_id: str,
    period: Period,
    held: dict[str, bool],
    tables: Sequence[RuleTable] | None = None,
) -> ComplianceReport:
    learner = index.learners[learner_id]
    programme = index.programme_of(learner)
    checks, used, missing = checks_in_force(index, programme, period, tables or rule_tables())
    results, classes, episodes = _group_checks(index, learner.group, period, held, checks, learner_id)
    return _report("learner", learner_id, programme, period, used, missing + results, classes, episodes, checks, {})


def programme_report(
    index: CatalogueIndex,
    programme_id: str,
    period: Period,
    held: dict[str, bool],
    tables: Sequence[RuleTable] | None = None,
) -> ComplianceReport:
    """Each check's worst group result (credit checks once, for the curriculum)."""
    programme = index.programmes[programme_id]
    checks, used, missing = checks_in_force(index, programme, period, tables or rule_tables())
    by_group = {
        g.id: _group_checks(index, g.id, period, held, checks, None)
        for g in index.groups_by_programme.get(programme_id, [])
    }
    results: list[CheckResult] = []
    for position, check in enumerate(checks):
        candidates = [
            replace(found[0][position], details={**found[0][position].details, "group": group})
            for group, found in by_group.items()
        ]
        if check.measure.endswith("credit_share"):
            candidates = [credit_share(check, programme)]
        if candidates:
            worst = max(candidates, key=lambda r: (SEVERITY[r.status], -(r.margin if r.margin is not None else 0)))
            results.append(worst)
    classes = [c for found in by_group.values() for c in found[1]]
    episodes = list({e.id: e for found in by_group.values() for e in found[2]}.values())
    groups = {group: _status(found[0]) for group, found in by_group.items()}
    return _report(
        "programme", programme_id, programme, period, used, missing + results, classes, episodes, checks, groups
    )
