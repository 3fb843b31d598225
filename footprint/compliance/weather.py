"""The adverse-weather day report (annex 1 §15–21): for every class the head's order moved online that day,
the teacher's count of learners connected, the absentees, and the tasks the absentees handed in later.

A class's tasks are the assignments the timetable gives it, or else its discipline's assignments for the
group due within a week of the class. Connection is read like attendance (join/leave on the class's
virtual class: the timetable's, or the one the order names for the day). A class with neither cannot show
anyone connected: its learners are listed as unknown, never as absent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from footprint.catalogue.index import CatalogueIndex, ClassInfo, epoch
from footprint.catalogue.model import Assignment, Episode
from footprint.compliance.checks import evidence_problems
from footprint.compliance.hours import covers
from footprint.compliance.rules import Check, RuleTable, rule_tables
from footprint.facts.columns import Facts
from footprint.indicators.attendance import Timeline, learner_class, teacher_class
from footprint.indicators.owners import owners, split
from footprint.indicators.period import iso
from footprint.vocabulary import Kind, module_id

TASK_WINDOW_S = 7 * 86400


@dataclass(frozen=True)
class WeatherClass:
    class_id: str
    group: str
    discipline: str
    teacher: str
    start: str | None
    end: str | None
    virtual_class: bool
    """Whether the timetable or the order names the class's virtual class (without one, no connection is seen)."""
    room: str | None
    """The virtual class the connections were read from."""
    teacher_connected: bool
    learners: int
    connected: list[str]
    absent: list[str]
    unknown: list[str]
    """Learners whose connection cannot be known: no virtual class named (not counted as absent)."""
    tasks: list[str]
    submitted_later: list[dict[str, Any]]
    not_submitted: list[dict[str, Any]]


@dataclass(frozen=True)
class WeatherDay:
    date: str
    episodes: list[dict[str, Any]]
    classes: list[WeatherClass]
    totals: dict[str, int]


def weather_episodes(index: CatalogueIndex, day: date) -> list[Episode]:
    """The group episodes on the ground of adverse weather that include `day` (local dates)."""
    return [
        e
        for e in index.catalogue.episodes
        if e.ground == "weather"
        and e.group is not None
        and e.start.astimezone(index.zone).date() <= day <= e.end.astimezone(index.zone).date()
    ]


def class_tasks(index: CatalogueIndex, info: ClassInfo) -> list[Assignment]:
    tasks = {t.id: t for t in index.catalogue.assignments}
    if info.session.assignments:
        return [tasks[t] for t in info.session.assignments]
    return [
        t
        for t in index.assignments_for(info.session.group)
        if t.discipline == info.discipline.code and info.start <= epoch(t.due) < info.start + TASK_WINDOW_S
    ]


def _evidence_check(tables: tuple[RuleTable, ...], day: date) -> Check | None:
    for table in tables:
        version = table.in_force(day)
        for check in version.checks if version else []:
            if check.measure == "episodes_without_evidence":
                return check
    return None


def weather_day(
    index: CatalogueIndex, facts: Facts, day: date, tables: tuple[RuleTable, ...] | None = None
) -> WeatherDay:
    """The report of one adverse-weather day from the college's facts at a checkpoint."""
    episodes = weather_episodes(index, day)
    learners = index.catalogue.learners
    teachers = index.catalogue.teachers
    learner_facts = dict(
        zip(
            (p.id for p in learners),
            split(facts, owners(facts, index, [index.learner_terms[p.id] for p in learners]), len(learners)),
            strict=True,
        )
    )
    teacher_facts = dict(
        zip(
            (t.id for t in teachers),
            split(facts, owners(facts, index, [index.teacher_terms[t.id] for t in teachers]), len(teachers)),
            strict=True,
        )
    )
    classes: list[WeatherClass] = []
    for episode in episodes:
        group = episode.group or ""
        for info in index.classes_by_group.get(group, []):
            if datetime.fromtimestamp(info.start, index.zone).date() != day or not covers(episode, info):
                continue
            classes.append(_class(index, info, episode, learner_facts, teacher_facts))
    check = _evidence_check(tables or rule_tables(), day)
    records = [
        {
            "episode": e.id,
            "group": e.group,
            "shift": e.shift,
            "start": e.start.isoformat(),
            "end": e.end.isoformat(),
            "documents": [d.model_dump(mode="json") for d in e.documents],
            "approver": e.approver,
            "missing": evidence_problems(check, e) if check else [],
        }
        for e in episodes
    ]
    totals = {
        "classes": len(classes),
        "learners": sum(c.learners for c in classes),
        "connected": sum(len(c.connected) for c in classes),
        "absent": sum(len(c.absent) for c in classes),
        "unknown": sum(len(c.unknown) for c in classes),
        "submitted_later": sum(len(c.submitted_later) for c in classes),
    }
    return WeatherDay(day.isoformat(), records, classes, totals)


def _class(
    index: CatalogueIndex,
    info: ClassInfo,
    episode: Episode,
    learner_facts: dict[str, Facts],
    teacher_facts: dict[str, Facts],
) -> WeatherClass:
    members = index.learners_by_group.get(info.session.group, [])
    room = info.session.activity or episode.activity
    if room is not None and info.session.activity is None:  # held in the room the order names
        info = dataclasses.replace(info, session=info.session.model_copy(update={"activity": room}))
    connected: list[str] = []
    absent: list[str] = []
    for learner in members:
        if room is not None:
            seen = learner_class(Timeline(learner_facts[learner.id]), info).status != "absent"
            (connected if seen else absent).append(learner.id)
    unknown = [learner.id for learner in members] if room is None else []
    teacher = teacher_facts.get(info.session.teacher)
    teacher_in = room is not None and teacher is not None and teacher_class(Timeline(teacher), info).held
    tasks = class_tasks(index, info)
    later: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    for learner_id in absent:
        own = learner_facts[learner_id]
        for task in tasks:
            target = own.term(module_id(task.activity))
            times = own.at[
                (own.kind == Kind.SUBMITTED) & (own.object == target) & (target != 0) & (own.at >= info.start)
            ]
            if times.size:
                later.append({"learner": learner_id, "assignment": task.id, "submitted": iso(int(np.min(times)))})
            else:
                missing.append({"learner": learner_id, "assignment": task.id})
    return WeatherClass(
        class_id=info.id,
        group=info.session.group,
        discipline=info.discipline.code,
        teacher=info.session.teacher,
        start=iso(info.start),
        end=iso(info.end),
        virtual_class=room is not None,
        room=room,
        teacher_connected=bool(teacher_in),
        learners=len(members),
        connected=connected,
        absent=absent,
        unknown=unknown,
        tasks=[t.id for t in tasks],
        submitted_later=later,
        not_submitted=missing,
    )


CSV_COLUMNS = (
    "class_id",
    "group",
    "discipline",
    "teacher",
    "start",
    "room",
    "teacher_connected",
    "learners",
    "connected",
    "learner",
    "connection",
    "assignment",
    "submitted",
)


def csv_rows(report: WeatherDay) -> list[dict[str, Any]]:
    """The day as one table: a row per absentee and task (handed in later, when, or not yet), a row per learner
    whose connection is unknown, and a row for a class where everyone connected — each with its class's count."""
    rows: list[dict[str, Any]] = []
    for item in report.classes:
        base = {
            "class_id": item.class_id,
            "group": item.group,
            "discipline": item.discipline,
            "teacher": item.teacher,
            "start": item.start,
            "room": item.room,
            "teacher_connected": item.teacher_connected,
            "learners": item.learners,
            "connected": len(item.connected),
        }
        later = {(w["learner"], w["assignment"]): w["submitted"] for w in item.submitted_later}
        for learner in item.absent:
            tasks: list[str | None] = list(item.tasks) or [None]
            for task in tasks:
                handed = later.get((learner, task)) if task else None
                rows.append(
                    {**base, "learner": learner, "connection": "absent", "assignment": task, "submitted": handed}
                )
        rows += [{**base, "learner": learner, "connection": "unknown"} for learner in item.unknown]
        if not item.absent and not item.unknown:
            rows.append(base)
    return rows
