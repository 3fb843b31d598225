"""A teacher's indicators: synchronous classes held live and on time, grading turnaround and feedback.

A class is held when the teacher joined its virtual class (from 15 min before the start to its end), on
time when the first join is at most 5 min after the start. Grading turnaround runs from a learner's latest
submission to the `scored` statement that names the teacher as `context.instructor`; feedback is a
`scored` statement with a comment (`result.response`). Ungraded: a submission to one of the teacher's
assignments with no grade since, by the period's end.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from footprint.catalogue.index import CatalogueIndex
from footprint.catalogue.model import Teacher
from footprint.facts.columns import Facts
from footprint.indicators.attendance import ClassHeld, Timeline, synchronous_classes, teacher_class
from footprint.indicators.period import Period
from footprint.vocabulary import Kind, module_id

Pair = tuple[int, int]
"""(actor term, object term)."""


@dataclass(frozen=True)
class Grading:
    graded: int
    feedback: int
    feedback_share: float | None
    turnaround_hours_median: float | None
    turnaround_hours_mean: float | None
    ungraded: int


@dataclass(frozen=True)
class TeacherIndicators:
    teacher: str
    name: str
    scheduled: int
    held: int
    on_time: int
    held_share: float | None
    on_time_share: float | None
    classes: list[ClassHeld]
    grading: Grading


class Work:
    """Submissions and grades of the whole college by (learner account, assignment), sorted by time."""

    def __init__(self, facts: Facts, period: Period) -> None:
        before_end = facts.at < period.until
        self.submitted = self._by_pair(facts, before_end & (facts.kind == Kind.SUBMITTED))
        self.scored = self._by_pair(facts, before_end & (facts.kind == Kind.SCORED))

    @staticmethod
    def _by_pair(facts: Facts, mask: np.ndarray) -> dict[Pair, list[int]]:
        found: dict[Pair, list[int]] = {}
        picked = np.flatnonzero(mask)
        for i in picked[np.argsort(facts.at[picked], kind="stable")]:
            found.setdefault((int(facts.actor[i]), int(facts.object[i])), []).append(int(facts.at[i]))
        return found


def grading(graded: Facts, work: Work, assignments: set[int], learners: set[int]) -> Grading:
    """Turnaround and feedback of the grades a teacher gave, and the submissions still without a grade."""
    hours: list[float] = []
    for i in range(len(graded)):
        handed = work.submitted.get((int(graded.actor[i]), int(graded.object[i])), [])
        position = bisect.bisect_right(handed, int(graded.at[i]))
        if position:
            hours.append((int(graded.at[i]) - handed[position - 1]) / 3600)
    ungraded = 0
    for (actor, target), times in work.submitted.items():
        if target in assignments and actor in learners:
            grades = work.scored.get((actor, target), [])
            ungraded += not grades or grades[-1] < times[-1]
    feedback = int((graded.feedback == 1).sum())
    count = len(graded)
    return Grading(
        graded=count,
        feedback=feedback,
        feedback_share=round(feedback / count, 4) if count else None,
        turnaround_hours_median=round(statistics.median(hours), 2) if hours else None,
        turnaround_hours_mean=round(statistics.fmean(hours), 2) if hours else None,
        ungraded=ungraded,
    )


def teacher_indicators(
    index: CatalogueIndex,
    teacher: Teacher,
    own: Facts,
    graded: Facts,
    work: Work,
    learner_actors: Mapping[str, set[int]],
    period: Period,
) -> TeacherIndicators:
    """One teacher's indicators: `own` are the teacher's facts, `graded` the `scored` facts naming them as
    instructor in the period; `learner_actors` gives each group's learners' actor terms."""
    classes = synchronous_classes(index.classes_by_teacher.get(teacher.id, []), period)
    timeline = Timeline(own)
    held = [teacher_class(timeline, info) for info in classes]
    taught = {(info.session.group, info.discipline.code) for info in index.classes_by_teacher.get(teacher.id, [])}
    assignments = {
        graded.term(module_id(task.activity))
        for group, code in taught
        for task in index.assignments_for(group)
        if task.discipline == code
    }
    learners = {actor for group, _ in taught for actor in learner_actors.get(group, set())}
    count_held = sum(c.held for c in held)
    count_on_time = sum(c.on_time for c in held)
    return TeacherIndicators(
        teacher=teacher.id,
        name=teacher.name,
        scheduled=len(held),
        held=count_held,
        on_time=count_on_time,
        held_share=round(count_held / len(held), 4) if held else None,
        on_time_share=round(count_on_time / len(held), 4) if held else None,
        classes=held,
        grading=grading(graded, work, assignments - {0}, learners),
    )
