"""The measures behind the rule tables' checks, and how a value against its limit becomes a status.

pass: inside the limit by more than the check's margin; at_risk: inside the limit but within the margin
(exactly at the limit included); fail: past the limit. Shares are exact fractions of academic hours (or
credits), so "exactly 30 %" is exactly 30 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from footprint.catalogue.index import exact
from footprint.catalogue.model import Episode, Learner, Programme
from footprint.compliance.curriculum import Curriculum, ToDate, curriculum_of, to_date
from footprint.compliance.hours import DISTANCE, ClassHours, covers, for_learner, inside, total
from footprint.compliance.rules import Check
from footprint.indicators.period import Period, iso

MAX_LISTED = 200


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    clause: str
    limit: str
    value: float | None
    unit: str
    margin: float | None
    """Room left before the limit (negative: past it), in the value's unit."""
    status: str
    """pass, at_risk, fail, not_applicable (nothing to judge, e.g. a learner not counted) or not_assessed."""
    details: dict[str, Any] = field(default_factory=dict)


def _percent(part: Fraction, whole: Fraction) -> Fraction | None:
    return None if whole == 0 else part * 100 / whole


def _number(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 4)


def judge(check: Check, value: Fraction | None, details: dict[str, Any]) -> CheckResult:
    """The status of a measured value against the check's limit."""
    margin_points = exact(check.at_risk_margin)
    if check.at_least_percent is not None:
        limit, unit, text = exact(check.at_least_percent), "percent", f"≥ {check.at_least_percent:g} %"
        room = None if value is None else value - limit
    else:
        bound = next(b for b in (check.at_most_percent, check.at_most_hours, check.at_most_episodes) if b is not None)
        limit = exact(bound)
        unit = (
            "percent"
            if check.at_most_percent is not None
            else ("hours" if check.at_most_hours is not None else "episodes")
        )
        text = f"≤ {bound:g}" + (" %" if unit == "percent" else f" {unit}")
        room = None if value is None else limit - value
    if room is None:
        status = "not_applicable"
    elif room < 0:
        status = "fail"
    elif unit == "percent" and room < margin_points:
        status = "at_risk"
    else:
        status = "pass"
    return CheckResult(check.id, check.title, check.clause, text, _number(value), unit, _number(room), status, details)


def _class_row(item: ClassHours) -> dict[str, Any]:
    return {
        "class": item.info.id,
        "group": item.info.session.group,
        "discipline": item.info.discipline.code,
        "start": iso(item.info.start),
        "hours": float(item.hours),
        "mode": item.mode,
        "episode": item.episode.id if item.episode else None,
    }


def _counted(check: Check, classes: Sequence[ClassHours]) -> tuple[list[ClassHours], Fraction]:
    if not check.excludes_practice:
        return list(classes), Fraction(0)
    return [c for c in classes if not c.practice], total([c for c in classes if c.practice])


def _projected(check: Check, result: CheckResult, projection: Fraction | None) -> CheckResult:
    """A passing share whose projection over the whole curriculum misses the limit is at risk."""
    if result.status != "pass" or projection is None:
        return result
    short = (check.at_least_percent is not None and projection < exact(check.at_least_percent)) or (
        check.at_most_percent is not None and projection > exact(check.at_most_percent)
    )
    return replace(result, status="at_risk", details={**result.details, "at_risk": "projection"}) if short else result


def _since(timetable: Sequence[ClassHours], period: Period) -> int:
    """Where a share "over the whole study period" is counted from: the group's first class."""
    return min([c.info.start for c in timetable], default=period.since)


def synchronous_share(
    check: Check, timetable: Sequence[ClassHours], programme: Programme, period: Period
) -> CheckResult:
    """Synchronous hours held to the period's end over the curriculum hours planned to then (see curriculum.py);
    beside it, the timetable's figure for the period itself."""
    curriculum = curriculum_of(programme, timetable, check.excludes_practice)
    measured = to_date(
        curriculum,
        timetable,
        period.until,
        delivered=lambda c: c.info.session.mode == "synchronous" and bool(c.held),
        planned=lambda c: c.info.session.mode == "synchronous",
    )
    counted, practice = _counted(check, inside(timetable, period))
    planned = [c for c in counted if c.info.session.mode == "synchronous"]
    held = [c for c in planned if c.held]
    details = {
        "measured_from": iso(_since(timetable, period)),
        **measured.to_json(),
        "disagreements": curriculum.disagreements()[:MAX_LISTED],
        "timetable_share": _number(_percent(total(held), total(counted))),
        "hours": float(total(counted)),
        "practice_hours_excluded": float(practice),
        "synchronous_planned_hours": float(total(planned)),
        "synchronous_held_hours": float(total(held)),
        "not_held": [_class_row(c) for c in planned if not c.held][:MAX_LISTED],
    }
    return _projected(check, judge(check, measured.share, details), measured.projection)


def distance_of(check: Check, classes: Sequence[ClassHours]) -> tuple[Fraction | None, Fraction, Fraction]:
    """(share in %, distance hours, counted hours) of classes as a learner (or group) had them."""
    counted, _ = _counted(check, classes)
    distance = total([c for c in counted if c.distance])
    return _percent(distance, total(counted)), distance, total(counted)


def personal(episodes: Sequence[Episode], learner: Learner, period: Period) -> list[Episode]:
    return [
        e
        for e in episodes
        if e.learner == learner.id and e.start.timestamp() < period.until and e.end.timestamp() > period.since
    ]


def _distance_to_date(curriculum: Curriculum, timetable: Sequence[ClassHours], until: int) -> ToDate:
    return to_date(curriculum, timetable, until, delivered=lambda c: c.distance, planned=lambda c: c.distance)


def distance_share(
    check: Check,
    timetable: Sequence[ClassHours],
    programme: Programme,
    learners: Sequence[Learner],
    episodes: Sequence[Episode],
    period: Period,
) -> CheckResult:
    """The worst counted learner's distance hours to the period's end over the curriculum hours planned to then
    (each learner's own episodes applied); learners with a not-counted ground in that time are listed apart.
    Beside it, the timetable's figure for the period itself."""
    curriculum = curriculum_of(programme, timetable, check.excludes_practice)
    so_far = Period(min(_since(timetable, period), period.until - 1), period.until)
    group_share, distance, counted = distance_of(check, inside(timetable, period))
    group = _distance_to_date(curriculum, timetable, period.until)
    not_counted: list[dict[str, Any]] = []
    over: list[str] = []
    worst: tuple[Fraction | None, str | None, ToDate] = (None, None, group)
    projection: Fraction | None = None
    in_period: Fraction | None = None
    values: dict[str, float | None] = {}
    for learner in learners:
        excused = [e for e in personal(episodes, learner, so_far) if e.ground in check.not_counted_grounds]
        if excused:
            not_counted.append(
                {
                    "learner": learner.id,
                    "episodes": [e.id for e in excused],
                    "grounds": sorted({e.ground for e in excused}),
                }
            )
            continue
        theirs = for_learner(timetable, [e for e in episodes if e.learner == learner.id])
        measured = _distance_to_date(curriculum, theirs, period.until)
        share = measured.share
        values[learner.id] = _number(share)
        if share is not None and (worst[0] is None or share > worst[0]):
            worst = (share, learner.id, measured)
        if share is not None and share > exact(check.at_most_percent or 0):
            over.append(learner.id)
        if measured.projection is not None and (projection is None or measured.projection > projection):
            projection = measured.projection
        period_share = distance_of(check, inside(theirs, period))[0]
        if period_share is not None and (in_period is None or period_share > in_period):
            in_period = period_share
    details = {
        "measured_from": iso(so_far.since),
        **worst[2].to_json(),
        "disagreements": curriculum.disagreements()[:MAX_LISTED],
        "worst_learner": worst[1],
        "learners_over_limit": over,
        "not_counted": not_counted,
        "learners": values,
        "timetable_share": _number(in_period if learners else group_share),
        "hours": float(counted),
        "group_distance_hours": float(distance),
        "group_share": _number(group_share),
    }
    value = worst[0] if learners else group.share
    if not learners:
        projection = group.projection
    if learners and not values:
        value = None
    details["projection"] = _number(projection)
    return _projected(check, judge(check, value, details), projection)


def _forbidden(check: Check, classes: Sequence[ClassHours]) -> list[ClassHours]:
    return [c for c in classes if c.distance and not (c.episode and c.episode.ground in check.exempt_grounds)]


def distance_hours(
    check: Check,
    classes: Sequence[ClassHours],
    learners: Sequence[Learner],
    episodes: Sequence[Episode],
    period: Period,
) -> CheckResult:
    """Distance hours where none are allowed (episodes on an exempt ground aside): the group's timetable and each
    learner's own episodes, so a group's report fails whenever one of its learners' does; the worst learner's
    hours (the group's own without learners)."""
    found = _forbidden(check, classes)
    exempt = [c for c in classes if c.distance and c.episode and c.episode.ground in check.exempt_grounds]
    worst = total(found)
    own: dict[str, float] = {}
    moved: list[dict[str, Any]] = []
    for learner in learners:
        theirs = _forbidden(check, for_learner(classes, personal(episodes, learner, period)))
        hours = total(theirs)
        worst = max(worst, hours)
        if hours > total(found):
            own[learner.id] = float(hours)
            moved += [{**_class_row(c), "learner": learner.id} for c in theirs if c.episode and c.episode.learner]
    details = {
        "classes": [_class_row(c) for c in found][:MAX_LISTED],
        "exempt": [_class_row(c) for c in exempt][:MAX_LISTED],
        "learners": own,
        "learner_classes": moved[:MAX_LISTED],
    }
    return judge(check, worst, details)


def outside_approved_list(check: Check, classes: Sequence[ClassHours]) -> CheckResult:
    """Hours of timetabled distance classes in disciplines not on an approved list that day."""
    found = [c for c in classes if c.info.session.mode in DISTANCE and not c.approved]
    return judge(check, total(found), {"classes": [_class_row(c) for c in found][:MAX_LISTED]})


def evidence_problems(check: Check, episode: Episode) -> list[str]:
    """What an episode lacks: a document of each required kind, and its approver."""
    rule = check.grounds.get(episode.ground)
    if rule is None:
        return [f"ground {episode.ground} is not a ground of this rule"]
    kinds = {d.kind for d in episode.documents}
    missing = [" or ".join(options) for options in rule.documents if not kinds.intersection(options)]
    return [f"no {text}" for text in missing] + ([] if episode.approver else ["no approver"])


def episode_record(check: Check | None, episode: Episode, classes: Sequence[ClassHours]) -> dict[str, Any]:
    rule = check.grounds.get(episode.ground) if check else None
    moved = [c for c in classes if covers(episode, c.info)]
    return {
        "episode": episode.id,
        "ground": episode.ground,
        "learner": episode.learner,
        "group": episode.group,
        "start": episode.start.isoformat(),
        "end": episode.end.isoformat(),
        "documents": [d.model_dump(mode="json") for d in episode.documents],
        "approver": episode.approver,
        "clause": rule.clause if rule else None,
        "classes": len(moved),
        "hours": float(total(moved)),
        "missing": evidence_problems(check, episode) if check else [],
    }


def episodes_without_evidence(check: Check, episodes: Sequence[Episode], classes: Sequence[ClassHours]) -> CheckResult:
    records = [episode_record(check, e, classes) for e in episodes]
    bad = [r for r in records if r["missing"]]
    return judge(check, Fraction(len(bad)), {"episodes": records[:MAX_LISTED]})


def credit_share(check: Check, programme: Programme) -> CheckResult:
    """Higher education: the share of the curriculum's credits delivered at a distance, or recognised."""
    credits = sum((exact(d.credits or 0) for d in programme.disciplines), Fraction(0))
    if check.measure == "distance_credit_share":
        part = sum((exact(d.distance_credits) for d in programme.disciplines), Fraction(0))
        listed = [d.code for d in programme.disciplines if d.distance_credits]
    else:
        chosen = [d for d in programme.disciplines if d.recognition in check.recognition]
        part = sum((exact(d.credits or 0) for d in chosen), Fraction(0))
        listed = [d.code for d in chosen]
    details = {"credits": float(credits), "counted_credits": float(part), "disciplines": listed}
    return judge(check, _percent(part, credits), details)
