"""Assignments against their due dates, scores, attestation results and programme mastery for one learner.

Scores are computed from `raw`, `min` and `max`: Moodle's plugin sends `scaled` as (raw−min)/(max−min)·2−1,
so `scaled` is never read. A discipline is passed when its course is completed (Moodle course completion),
a cmi5 `passed` names it, or the latest verdict of a proctored session of one of its exams is `confirmed`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from footprint.catalogue.index import epoch
from footprint.catalogue.model import Assignment, Discipline
from footprint.facts.columns import Facts
from footprint.indicators.period import Period, iso
from footprint.vocabulary import Category, Kind, module_id

VERDICTS = {1: "confirmed", 2: "annulled", 3: "retake"}


@dataclass(frozen=True)
class AssignmentStatus:
    assignment: str
    discipline: str
    due: str | None
    submitted: str | None
    """The first submission (a resubmission does not move it)."""
    status: str
    """on_time, late, missing (due before the period's end, nothing submitted) or pending (not yet due)."""
    score: float | None
    graded: str | None


@dataclass(frozen=True)
class Scores:
    discipline: str
    graded: int
    quiz_attempts: int
    mean_score: float | None
    best_score: float | None
    last_score: float | None


@dataclass(frozen=True)
class Attestation:
    discipline: str | None
    source: str
    """`proctoring` (this platform's sessions) or `cmi5` (passed / failed)."""
    session: str | None
    result: str | None
    """confirmed, annulled, retake (the latest verdict), passed or failed; None while awaiting a verdict."""
    suspicion_score: float | None
    at: str | None


@dataclass(frozen=True)
class Mastery:
    disciplines: int
    passed: list[str]
    failed: list[str]
    share: float


def score_share(raw: float, low: float, high: float) -> float | None:
    """(raw − min) / (max − min) within 0…1; min defaults to 0; None without raw and max."""
    low = 0.0 if math.isnan(low) else low
    if math.isnan(raw) or math.isnan(high) or high <= low:
        return None
    return min(1.0, max(0.0, (raw - low) / (high - low)))


def assignments(facts: Facts, tasks: list[Assignment], period: Period) -> list[AssignmentStatus]:
    """Each assignment of the learner's group due from the period's start on: submitted on time, late, missing or
    pending (one due before the period belongs to an earlier period)."""
    statuses = []
    before_end = facts.at < period.until
    for task in tasks:
        if epoch(task.due) < period.since:
            continue
        target = facts.term(module_id(task.activity))
        on_task = before_end & (facts.object == target) & (target != 0)
        submitted = np.sort(facts.at[on_task & (facts.kind == Kind.SUBMITTED)])
        graded = np.flatnonzero(on_task & (facts.kind == Kind.SCORED))
        due = epoch(task.due)
        if submitted.size:
            status = "on_time" if submitted[0] <= due else "late"
        else:
            status = "missing" if due < period.until else "pending"
        score, graded_at = None, None
        if graded.size:
            last = graded[np.argmax(facts.at[graded])]
            score = score_share(float(facts.raw[last]), float(facts.low[last]), float(facts.high[last]))
            graded_at = int(facts.at[last])
        statuses.append(
            AssignmentStatus(
                assignment=task.id,
                discipline=task.discipline,
                due=iso(due),
                submitted=iso(int(submitted[0])) if submitted.size else None,
                status=status,
                score=None if score is None else round(score, 4),
                graded=iso(graded_at),
            )
        )
    return statuses


def scores(facts: Facts, disciplines: list[Discipline], period: Period) -> list[Scores]:
    """Graded assignments and quiz attempts (with a score) per discipline, scores as shares of the maximum."""
    inside = period.contains(facts.at)
    graded_kind = facts.kind == Kind.SCORED
    attempt_kind = (facts.kind == Kind.COMPLETED) & ~np.isnan(facts.high) & (facts.category != Category.COURSE)
    results = []
    for discipline in disciplines:
        course = facts.term(discipline.course)
        if not course:
            continue
        mask = inside & (facts.course == course) & (graded_kind | attempt_kind)
        picked = np.flatnonzero(mask)
        picked = picked[np.argsort(facts.at[picked], kind="stable")]
        values = [score_share(float(facts.raw[i]), float(facts.low[i]), float(facts.high[i])) for i in picked]
        known = [v for v in values if v is not None]
        results.append(
            Scores(
                discipline=discipline.code,
                graded=int((mask & graded_kind).sum()),
                quiz_attempts=int((mask & attempt_kind).sum()),
                mean_score=round(sum(known) / len(known), 4) if known else None,
                best_score=round(max(known), 4) if known else None,
                last_score=round(known[-1], 4) if known else None,
            )
        )
    return results


def attestations(
    facts: Facts, exam_disciplines: Mapping[int, str], course_disciplines: Mapping[int, str], period: Period
) -> list[Attestation]:
    """Proctored sessions (suspicion score, latest verdict) and cmi5 passed / failed, oldest first."""
    inside = facts.at < period.until
    found: list[Attestation] = []
    proctoring = np.flatnonzero(inside & np.isin(facts.kind, (int(Kind.PROCTORED), int(Kind.VERDICT))))
    sessions: dict[int, list[int]] = {}
    for i in proctoring[np.argsort(facts.at[proctoring], kind="stable")]:
        sessions.setdefault(int(facts.registration[i]), []).append(int(i))
    texts = {number: text for text, number in facts.terms.items() if number in sessions}
    for registration, rows in sessions.items():
        analysed = [i for i in rows if facts.kind[i] == Kind.PROCTORED]
        verdicts = [i for i in rows if facts.kind[i] == Kind.VERDICT]
        latest = verdicts[-1] if verdicts else None
        found.append(
            Attestation(
                discipline=exam_disciplines.get(int(facts.object[rows[0]])),
                source="proctoring",
                session=texts.get(registration),
                result=VERDICTS.get(int(facts.verdict[latest])) if latest is not None else None,
                suspicion_score=None
                if not analysed or math.isnan(facts.raw[analysed[-1]])
                else float(facts.raw[analysed[-1]]),
                at=iso(int(facts.at[rows[-1]])),
            )
        )
    decided = np.flatnonzero(inside & np.isin(facts.kind, (int(Kind.PASSED), int(Kind.FAILED))))
    for i in decided[np.argsort(facts.at[decided], kind="stable")]:
        discipline = course_disciplines.get(int(facts.course[i])) or course_disciplines.get(int(facts.object[i]))
        found.append(
            Attestation(
                discipline=discipline,
                source="cmi5",
                session=None,
                result="passed" if facts.kind[i] == Kind.PASSED else "failed",
                suspicion_score=None,
                at=iso(int(facts.at[i])),
            )
        )
    return sorted(found, key=lambda a: a.at or "")


def mastery(facts: Facts, disciplines: list[Discipline], results: list[Attestation], period: Period) -> Mastery:
    """The share of the curriculum's disciplines passed (and those failed with no pass since)."""
    inside = facts.at < period.until
    course_done = (
        inside & (facts.kind == Kind.COMPLETED) & (facts.category == Category.COURSE) & (facts.completion != 0)
    )
    completed_courses = set(facts.object[course_done].tolist())
    outcome: dict[str, str] = {}
    for result in results:  # each session's latest verdict; any pass passes the discipline
        if result.discipline is not None and result.result is not None and outcome.get(result.discipline) != "passed":
            outcome[result.discipline] = "passed" if result.result in ("confirmed", "passed") else "failed"
    for discipline in disciplines:
        course = facts.term(discipline.course)
        if course and course in completed_courses:
            outcome[discipline.code] = "passed"
    codes = [d.code for d in disciplines]
    passed = [c for c in codes if outcome.get(c) == "passed"]
    failed = [c for c in codes if outcome.get(c) == "failed"]
    return Mastery(len(codes), passed, failed, round(len(passed) / len(codes), 4) if codes else 0.0)
