"""A learner's indicators: attendance, logging in, materials, assignments, assessment and mastery.

`learner_indicators` is a pure function of the catalogue, the learner's facts and the period; the page
of one learner, the college-wide computation and the offline verifier all call it.
"""

from __future__ import annotations

from dataclasses import dataclass

from footprint.catalogue.index import CatalogueIndex
from footprint.catalogue.model import Learner
from footprint.facts.columns import Facts
from footprint.indicators.activity import Logins, Materials, logins, materials
from footprint.indicators.assessment import (
    AssignmentStatus,
    Attestation,
    Mastery,
    Scores,
    assignments,
    attestations,
    mastery,
    scores,
)
from footprint.indicators.attendance import (
    STATUSES,
    ClassAttendance,
    Timeline,
    attendance_counts,
    learner_class,
    synchronous_classes,
)
from footprint.indicators.owners import term_map
from footprint.indicators.period import Period, local_time

ATTENDED = ("present", "late", "left_early")
ASSIGNMENT_STATES = ("on_time", "late", "missing", "pending")


@dataclass(frozen=True)
class WeekAttendance:
    week: int
    classes: int
    attended: int


@dataclass(frozen=True)
class Attendance:
    counts: dict[str, int]
    rate: float | None
    """Share of the synchronous classes attended (present, late or left early)."""
    weeks: list[WeekAttendance]
    classes: list[ClassAttendance]


@dataclass(frozen=True)
class LearnerIndicators:
    learner: str
    name: str
    group: str
    programme: str
    attendance: Attendance
    logins: Logins
    materials: list[Materials]
    assignments: list[AssignmentStatus]
    assignment_counts: dict[str, int]
    scores: list[Scores]
    attestations: list[Attestation]
    mastery: Mastery


def attended_share(counts: dict[str, int]) -> float | None:
    total = sum(counts.get(status, 0) for status in STATUSES)
    return round(sum(counts.get(s, 0) for s in ATTENDED) / total, 4) if total else None


def weekly(classes: list[ClassAttendance], starts: list[int], period: Period) -> list[WeekAttendance]:
    weeks = [[0, 0] for _ in range(period.weeks)]
    for item, start in zip(classes, starts, strict=True):
        week = (start - period.since) // (7 * 86400)
        weeks[week][0] += 1
        weeks[week][1] += item.status in ATTENDED
    return [WeekAttendance(number, total, came) for number, (total, came) in enumerate(weeks)]


def learner_indicators(index: CatalogueIndex, learner: Learner, facts: Facts, period: Period) -> LearnerIndicators:
    """Every indicator of one learner over the period, from the learner's own facts (sorted by time)."""
    programme = index.programme_of(learner)
    timeline = Timeline(facts)
    classes = synchronous_classes(index.classes_by_group.get(learner.group, []), period)
    seen = [learner_class(timeline, info) for info in classes]
    counts = attendance_counts(seen)
    tasks = assignments(facts, index.assignments_for(learner.group), period)
    exams = {text: code for (owner, text), code in index.exams.items() if owner == programme.id}
    courses = {text: code for (owner, text), code in index.courses.items() if owner == programme.id}
    results = attestations(facts, term_map(facts, exams), term_map(facts, courses), period)
    return LearnerIndicators(
        learner=learner.id,
        name=learner.name,
        group=learner.group,
        programme=programme.id,
        attendance=Attendance(counts, attended_share(counts), weekly(seen, [c.start for c in classes], period), seen),
        logins=logins(facts, period, local_time(index.zone, period.since, period.until)),
        materials=materials(facts, programme.disciplines, period),
        assignments=tasks,
        assignment_counts={state: sum(t.status == state for t in tasks) for state in ASSIGNMENT_STATES},
        scores=scores(facts, programme.disciplines, period),
        attestations=results,
        mastery=mastery(facts, programme.disciplines, results, period),
    )
