"""Every indicator of a college at once: learners, groups, programmes and teachers, and what was not counted.

Groups and programmes aggregate their learners' indicators (sums of counts, means of rates), so a
group's figure is provable from its learners'. Statements of people the catalogue does not name and verbs
outside the vocabulary are counted, never used.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from footprint.catalogue.index import CatalogueIndex
from footprint.catalogue.model import Learner, Programme, Teacher
from footprint.facts.columns import Facts
from footprint.indicators.learners import (
    ASSIGNMENT_STATES,
    LearnerIndicators,
    WeekAttendance,
    attended_share,
    learner_indicators,
)
from footprint.indicators.owners import NOBODY, facts_of, owners, split
from footprint.indicators.period import Period
from footprint.indicators.teachers import TeacherIndicators, Work, teacher_indicators
from footprint.vocabulary import Kind


@dataclass(frozen=True)
class LearnerSummary:
    """A learner's row in a group's table (and in the learners CSV)."""

    learner: str
    name: str
    group: str
    attendance_rate: float | None
    logins_per_week: float
    longest_gap_days: float
    last_access: str | None
    materials_progress: float | None
    on_time: int
    late: int
    missing: int
    mean_score: float | None
    mastery_share: float


@dataclass(frozen=True)
class Summary:
    """Indicators of a set of learners (a group or a programme)."""

    learners: int
    attendance: dict[str, int]
    attendance_rate: float | None
    weeks: list[WeekAttendance]
    logins_per_week: float | None
    materials_progress: float | None
    assignments: dict[str, int]
    on_time_share: float | None
    mean_score: float | None
    mastery_share: float | None


@dataclass(frozen=True)
class GroupIndicators:
    group: str
    programme: str
    summary: Summary
    members: list[LearnerSummary]


@dataclass(frozen=True)
class ProgrammeIndicators:
    programme: str
    name: str
    level: str
    form: str
    field: str
    groups: list[str]
    summary: Summary


@dataclass(frozen=True)
class Counted:
    """What the computation saw: facts counted, facts of no catalogue person, verbs outside the vocabulary (kept
    and ignored), and proctoring results not written by the platform's proctoring (ignored)."""

    facts: int
    unmatched: int
    unknown_verbs: dict[str, int]
    untrusted_proctoring: int


def counted(facts: Facts, unmatched: int = 0) -> Counted:
    """What was seen in some facts (a person's own: nobody in them is unmatched)."""
    texts = facts.texts()
    unknown = Counter(texts.get(int(v), "?") for v in facts.verb[facts.kind == Kind.OTHER])
    untrusted = int((facts.kind == Kind.UNTRUSTED_PROCTORING).sum())
    return Counted(len(facts), unmatched, dict(sorted(unknown.items())), untrusted)


@dataclass(frozen=True)
class CollegeIndicators:
    learners: dict[str, LearnerIndicators]
    groups: dict[str, GroupIndicators]
    programmes: dict[str, ProgrammeIndicators]
    teachers: dict[str, TeacherIndicators]
    counted: Counted


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.fmean(known), 4) if known else None


def learner_summary(item: LearnerIndicators) -> LearnerSummary:
    progress = [m.progress for m in item.materials]
    return LearnerSummary(
        learner=item.learner,
        name=item.name,
        group=item.group,
        attendance_rate=item.attendance.rate,
        logins_per_week=item.logins.mean_per_week,
        longest_gap_days=item.logins.longest_gap_days,
        last_access=item.logins.last_access,
        materials_progress=_mean(progress),
        on_time=item.assignment_counts["on_time"],
        late=item.assignment_counts["late"],
        missing=item.assignment_counts["missing"],
        mean_score=_mean([s.mean_score for s in item.scores]),
        mastery_share=item.mastery.share,
    )


def summarise(items: Sequence[LearnerIndicators], period: Period) -> Summary:
    """Counts summed, rates and means averaged over learners."""
    counts: Counter[str] = Counter()
    tasks: Counter[str] = Counter()
    weeks = [[0, 0] for _ in range(period.weeks)]
    for item in items:
        counts.update(item.attendance.counts)
        tasks.update(item.assignment_counts)
        for week in item.attendance.weeks:
            weeks[week.week][0] += week.classes
            weeks[week.week][1] += week.attended
    summaries = [learner_summary(item) for item in items]
    handed = tasks["on_time"] + tasks["late"] + tasks["missing"]
    return Summary(
        learners=len(items),
        attendance={status: counts[status] for status in ("present", "late", "left_early", "absent")},
        attendance_rate=attended_share(dict(counts)),
        weeks=[WeekAttendance(n, total, came) for n, (total, came) in enumerate(weeks)],
        logins_per_week=_mean([s.logins_per_week for s in summaries]),
        materials_progress=_mean([s.materials_progress for s in summaries]),
        assignments={state: tasks[state] for state in ASSIGNMENT_STATES},
        on_time_share=round(tasks["on_time"] / handed, 4) if handed else None,
        mean_score=_mean([s.mean_score for s in summaries]),
        mastery_share=_mean([s.mastery_share for s in summaries]),
    )


def group_indicators(
    index: CatalogueIndex, group_id: str, items: Sequence[LearnerIndicators], period: Period
) -> GroupIndicators:
    return GroupIndicators(
        group=group_id,
        programme=index.groups[group_id].programme,
        summary=summarise(items, period),
        members=[learner_summary(item) for item in items],
    )


def programme_indicators(
    index: CatalogueIndex, programme: Programme, items: Sequence[LearnerIndicators], period: Period
) -> ProgrammeIndicators:
    """A programme's figures over its groups' learners (`items`, in the groups' order)."""
    return ProgrammeIndicators(
        programme=programme.id,
        name=programme.name,
        level=programme.level,
        form=programme.form,
        field=programme.field,
        groups=[g.id for g in index.groups_by_programme.get(programme.id, [])],
        summary=summarise(items, period),
    )


def programme_members(index: CatalogueIndex, programme_id: str) -> list[Learner]:
    return [p for g in index.groups_by_programme.get(programme_id, []) for p in index.learners_by_group.get(g.id, [])]


def learner_actors_by_group(index: CatalogueIndex, facts: Facts) -> dict[str, set[int]]:
    """Each group's learners' actor terms (whose submissions a teacher of the group grades)."""
    found: dict[str, set[int]] = {}
    for learner in index.catalogue.learners:
        ids = {facts.term(t) for t in index.learner_terms[learner.id].actors} - {0}
        found.setdefault(learner.group, set()).update(ids)
    return found


def teacher_from_facts(index: CatalogueIndex, teacher: Teacher, facts: Facts, period: Period) -> TeacherIndicators:
    """One teacher's indicators from facts that hold the teacher's own and the work the teacher grades (what an
    evidence bundle carries); the same figures as the college-wide computation."""
    own = facts_of(facts, index, index.teacher_terms[teacher.id])
    actors = sorted({facts.term(t) for t in index.teacher_terms[teacher.id].actors} - {0})
    marked = np.flatnonzero((facts.kind == Kind.SCORED) & np.isin(facts.instructor, actors) & period.contains(facts.at))
    graded = facts.pick(marked[np.argsort(facts.at[marked], kind="stable")])
    return teacher_indicators(
        index, teacher, own, graded, Work(facts, period), learner_actors_by_group(index, facts), period
    )


def college_indicators(index: CatalogueIndex, facts: Facts, period: Period) -> CollegeIndicators:
    """All the college's indicators over the period from all its facts at one checkpoint."""
    learners = index.catalogue.learners
    learner_terms = [index.learner_terms[p.id] for p in learners]
    learner_owner = owners(facts, index, learner_terms)
    learner_facts = split(facts, learner_owner, len(learners))
    results = {
        learner.id: learner_indicators(index, learner, own, period)
        for learner, own in zip(learners, learner_facts, strict=True)
    }
    teachers = index.catalogue.teachers
    teacher_terms = [index.teacher_terms[p.id] for p in teachers]
    teacher_owner = owners(facts, index, teacher_terms)
    teacher_facts = split(facts, teacher_owner, len(teachers))
    instructor_lookup = np.full(max(facts.terms.values(), default=0) + 1, NOBODY, dtype=np.int64)
    for position, terms in enumerate(teacher_terms):
        for text in terms.actors:
            if facts.term(text):
                instructor_lookup[facts.term(text)] = position
    grader = np.where(facts.kind == Kind.SCORED, instructor_lookup[facts.instructor], NOBODY)
    grader[~period.contains(facts.at)] = NOBODY
    graded = split(facts, grader, len(teachers))
    work = Work(facts, period)
    actors_by_group = learner_actors_by_group(index, facts)
    teacher_results = {
        teacher.id: teacher_indicators(index, teacher, own, marks, work, actors_by_group, period)
        for teacher, own, marks in zip(teachers, teacher_facts, graded, strict=True)
    }
    groups = {
        group.id: group_indicators(
            index, group.id, [results[p.id] for p in index.learners_by_group.get(group.id, [])], period
        )
        for group in index.catalogue.groups
    }
    programmes = {
        programme.id: programme_indicators(
            index, programme, [results[p.id] for p in programme_members(index, programme.id)], period
        )
        for programme in index.catalogue.programmes
    }
    unmatched = int(((learner_owner == NOBODY) & (teacher_owner == NOBODY)).sum())
    return CollegeIndicators(results, groups, programmes, teacher_results, counted(facts, unmatched))
