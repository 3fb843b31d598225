"""Every rule on its edges, with shares worked out in academic hours (classes of 90 min = 2 hours)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from footprint.catalogue.index import CatalogueIndex
from footprint.compliance.report import (
    ComplianceReport,
    group_report,
    held_classes,
    learner_report,
    programme_report,
)
from footprint.compliance.rules import RULES_DIR, load_table, rule_tables
from footprint.compliance.weather import weather_day
from footprint.facts.columns import facts_from_statements
from footprint.indicators.period import Period
from tests.indicators.helpers import (
    ASSIGN,
    COLLEGE,
    COURSE,
    ROOM,
    ROOM_IRI,
    SITE,
    TEACHER,
    W,
    at,
    base_catalogue,
    catalogue,
    klass,
    user,
)

PERIOD = Period(int(at(7, 0).timestamp()), int(at(28, 0).timestamp()))


def _report(
    data: dict[str, Any],
    statements: list[dict[str, Any]] | None = None,
    scope: str = "group",
    item: str = "G1",
    period: Period = PERIOD,
) -> ComplianceReport:
    index = CatalogueIndex(catalogue(data))
    facts = facts_from_statements(statements or [], COLLEGE)
    held = held_classes(index, facts, period)
    make = {"group": group_report, "programme": programme_report, "learner": learner_report}[scope]
    return make(index, item, period, held)


def _check(report: ComplianceReport, check_id: str) -> Any:
    return next(c for c in report.checks if c.id == check_id)


def _week_of_classes(modes: list[str], practice: int = 0) -> list[dict[str, Any]]:
    """One class per weekday slot from Monday 7 September (2 academic hours each), then practice classes."""
    classes = [klass(f"C{n}", at(7 + n // 3, 9 + 2 * (n % 3)), mode=mode) for n, mode in enumerate(modes)]
    classes += [
        {**klass(f"P{n}", at(14 + n, 9), minutes=180, mode="in_person"), "discipline": "PR"} for n in range(practice)
    ]
    return classes


def _teacher_joins(data: dict[str, Any], held: list[str]) -> list[dict[str, Any]]:
    starts = {c["id"]: c["start"] for c in data["classes"]}
    return [
        SITE.meeting("join", TEACHER, COURSE, ROOM, datetime.fromisoformat(starts[c]) - timedelta(minutes=3))
        for c in held
    ]


def online(data: dict[str, Any], hours: float = 20) -> dict[str, Any]:
    """The programme in the online form, its curriculum one discipline of `hours` (the week's 10 classes of 2 hours
    by default: the timetable holds the whole curriculum) and the practice."""
    data["programmes"][0]["form"] = "online"
    em1, _em2, practice = data["programmes"][0]["disciplines"]
    data["programmes"][0]["disciplines"] = [{**em1, "hours": hours}, practice]
    data["approved_lists"] = [
        {
            "order": {"kind": "head_order", "number": "1-Ө", "date": "2026-08-20"},
            "programme": "EM",
            "disciplines": ["EM1", "PR"],
        }
    ]
    return data


def test_synchronous_share_exactly_30_percent_is_at_risk_with_no_margin_and_practice_is_excluded() -> None:
    data = online(base_catalogue())
    data["classes"] = _week_of_classes(["synchronous"] * 3 + ["asynchronous"] * 7, practice=2)
    check = _check(_report(data, _teacher_joins(data, ["C0", "C1", "C2"])), "tvet.synchronous_share")
    assert (check.value, check.margin, check.status) == (30.0, 0.0, "at_risk")  # 6 of 20 hours held live
    assert check.clause.endswith("annex 2 §5") and check.limit == "≥ 30 %"
    assert check.details["practice_hours_excluded"] == 8.0 and check.details["hours"] == 20.0
    assert (check.details["curriculum_hours"], check.details["projection"], check.details["disagreements"]) == (
        20.0,
        30.0,
        [],
    )


def test_a_synchronous_class_its_teacher_never_joined_does_not_count() -> None:
    data = online(base_catalogue())
    data["classes"] = _week_of_classes(["synchronous"] * 3 + ["asynchronous"] * 7)
    check = _check(_report(data, _teacher_joins(data, ["C0", "C1"])), "tvet.synchronous_share")
    assert (check.value, check.status) == (20.0, "fail")
    assert [c["class"] for c in check.details["not_held"]] == ["C2"]


def test_synchronous_share_well_above_the_limit_passes() -> None:
    data = online(base_catalogue())
    data["classes"] = _week_of_classes(["synchronous"] * 4 + ["asynchronous"] * 6)
    check = _check(_report(data, _teacher_joins(data, ["C0", "C1", "C2", "C3"])), "tvet.synchronous_share")
    assert (check.value, check.margin, check.status) == (40.0, 10.0, "pass")


def test_one_held_class_of_a_150_hour_curriculum_is_at_risk_not_a_pass() -> None:
    """The rule is over the whole study period per the working curriculum: 2 of 150 hours cannot show 30 %."""
    data = online(base_catalogue(), hours=150)
    data["classes"] = [klass("C0", at(7, 9))]
    check = _check(_report(data, _teacher_joins(data, ["C0"])), "tvet.synchronous_share")
    assert (check.value, check.status, check.details["at_risk"]) == (100.0, "at_risk", "projection")
    assert check.details["projection"] == round(2 / 150 * 100, 4) and check.details["curriculum_hours"] == 150.0
    assert check.details["disagreements"] == [{"discipline": "EM1", "curriculum_hours": 150.0, "timetabled_hours": 2.0}]
    assert check.details["timetable_share"] == 100.0  # the old figure, the period's timetable alone, beside it


def _two_weeks(first: list[str], second: list[str]) -> list[dict[str, Any]]:
    """Two classes a weekday (2 academic hours each) in the weeks of 7 and 14 September."""
    return [
        klass(f"{week}{n}", at(day + n // 2, 9 + 2 * (n % 2)), mode=mode)
        for week, day, modes in (("A", 7, first), ("B", 14, second))
        for n, mode in enumerate(modes)
    ]


def test_the_synchronous_share_counts_from_the_first_class_against_the_curriculum_with_a_projection() -> None:
    week = ["synchronous"] * 4 + ["asynchronous"] * 6
    data = online(base_catalogue(), hours=40)  # the two weeks' 20 classes are the whole curriculum
    data["classes"] = _two_weeks(week, ["asynchronous"] * 10)
    joins = _teacher_joins(data, ["A0", "A1", "A2", "A3"])
    first_week = Period(int(at(7, 0).timestamp()), int(at(14, 0).timestamp()))
    check = _check(_report(data, joins, period=first_week), "tvet.synchronous_share")
    # 8 of the 20 hours planned so far were held live (40 %), but the timetable plans no more: 8 of 40 hours
    assert (check.value, check.status, check.details["projection"]) == (40.0, "at_risk", 20.0)
    second_week = Period(int(at(14, 0).timestamp()), int(at(19, 0).timestamp()))
    check = _check(_report(data, joins, period=second_week), "tvet.synchronous_share")
    assert (check.value, check.status) == (20.0, "fail")  # 8 of 40 hours, counted from the first class
    assert check.details["timetable_share"] == 0.0 and check.details["measured_from"] == "2026-09-07T04:00:00Z"
    data["classes"] = _two_weeks(week, week)
    check = _check(_report(data, joins, period=first_week), "tvet.synchronous_share")
    assert (check.value, check.status, check.details["projection"]) == (40.0, "pass", 40.0)


def test_the_distance_share_against_the_curriculum_is_at_risk_when_the_timetable_leads_past_the_limit() -> None:
    data = base_catalogue(learners=1)
    data["programmes"][0]["disciplines"] = [{**data["programmes"][0]["disciplines"][0], "hours": 40}]
    data["approved_lists"] = [
        {
            "order": {"kind": "head_order", "number": "1", "date": "2026-08-20"},
            "programme": "EM",
            "disciplines": ["EM1"],
        }
    ]
    data["classes"] = _two_weeks(["synchronous"] + ["in_person"] * 9, ["synchronous"] * 6 + ["in_person"] * 4)
    first_week = Period(int(at(7, 0).timestamp()), int(at(14, 0).timestamp()))
    check = _check(_report(data, period=first_week), "tvet.distance_share")
    assert (check.value, check.status) == (10.0, "at_risk")  # 2 of 20 hours so far; (2 + 12) of 40 ahead: 35 %
    assert (check.details["projection"], check.details["at_risk"]) == (35.0, "projection")
    whole = Period(int(at(7, 0).timestamp()), int(at(19, 0).timestamp()))
    assert _check(_report(data, period=whole), "tvet.distance_share").value == 35.0
    assert _check(_report(data, period=whole), "tvet.distance_share").status == "fail"


def full_time(modes: list[str], practice: int = 0) -> dict[str, Any]:
    data = base_catalogue(learners=2)
    data["classes"] = _week_of_classes(modes, practice)
    data["approved_lists"] = [
        {
            "order": {"kind": "head_order", "number": "1-Ө", "date": "2026-08-20"},
            "programme": "EM",
            "disciplines": ["EM1"],
        }
    ]
    return data


def test_distance_share_exactly_20_percent_is_at_risk_and_practice_hours_do_not_count() -> None:
    data = full_time(["synchronous"] * 2 + ["in_person"] * 8, practice=3)
    check = _check(_report(data), "tvet.distance_share")
    assert (check.value, check.margin, check.status) == (20.0, 0.0, "at_risk")
    assert check.clause.endswith("annex 1 §8–10") and check.details["hours"] == 20.0
    over = full_time(["synchronous"] * 3 + ["in_person"] * 7)
    assert (
        _check(_report(over), "tvet.distance_share").value,
        _check(_report(over), "tvet.distance_share").status,
    ) == (30.0, "fail")


def test_a_learner_with_a_medical_conclusion_is_not_counted_but_one_on_a_parents_application_is() -> None:
    data = full_time(["synchronous"] * 2 + ["in_person"] * 8)
    away = {"start": at(8, 0).isoformat(), "end": at(9, 0).isoformat(), "approver": "Director", "learner": "S2"}
    data["episodes"] = [
        {
            **away,
            "id": "M",
            "ground": "medical",
            "documents": [{"kind": "commission_conclusion", "number": "ВКК-1", "date": "2026-09-07"}],
        }
    ]
    check = _check(_report(data), "tvet.distance_share")
    assert (check.value, check.status) == (20.0, "at_risk")  # S1 only; S2's 50 % is not counted
    assert check.details["not_counted"] == [{"learner": "S2", "episodes": ["M"], "grounds": ["medical"]}]
    docs = [
        {"kind": "parents_application", "number": "1", "date": "2026-09-07"},
        {"kind": "council_decision", "number": "2", "date": "2026-09-07"},
    ]
    data["episodes"] = [{**away, "id": "P", "ground": "parents", "documents": docs}]
    check = _check(_report(data), "tvet.distance_share")
    # Tuesday's three in-person classes moved to a distance for S2: (2 + 3) × 2 of 20 hours
    assert (check.value, check.status, check.details["worst_learner"]) == (50.0, "fail", "S2")
    assert check.details["learners_over_limit"] == ["S2"]
    learner = _check(_report(data, scope="learner", item="S1"), "tvet.distance_share")
    assert (learner.value, learner.status) == (20.0, "at_risk")


def test_a_pedagogy_programme_with_one_distance_hour_fails_but_a_weather_day_is_exempt() -> None:
    data = full_time(["in_person"] * 9 + ["asynchronous"])
    data["programmes"][0]["field"] = "pedagogy"
    data["classes"][-1]["hours"] = 1
    check = _check(_report(data), "tvet.forbidden_fields")
    assert (check.value, check.status) == (1.0, "fail") and check.clause.endswith("annex 1 §3")
    data["classes"][-1]["mode"] = "in_person"
    data["episodes"] = [
        {
            "id": "W",
            "ground": "weather",
            "group": "G1",
            "start": at(7, 0).isoformat(),
            "end": at(7, 23, 59).isoformat(),
            "approver": "Director",
            "documents": [{"kind": "head_order", "number": "9", "date": "2026-09-07"}],
        }
    ]
    check = _check(_report(data), "tvet.forbidden_fields")
    assert (check.value, check.status) == (0.0, "pass") and len(check.details["exempt"]) == 3  # Monday's 3 classes


def test_a_pedagogy_learners_own_distance_episode_fails_the_group_as_it_fails_the_learner() -> None:
    data = full_time(["in_person"] * 10)
    data["programmes"][0]["field"] = "pedagogy"
    data["episodes"] = [
        {
            "id": "P",
            "ground": "parents",
            "learner": "S2",
            "start": at(8, 0).isoformat(),
            "end": at(9, 0).isoformat(),
            "approver": "Director",
            "documents": [
                {"kind": "parents_application", "number": "1", "date": "2026-09-07"},
                {"kind": "council_decision", "number": "2", "date": "2026-09-07"},
            ],
        }
    ]
    learner = _check(_report(data, scope="learner", item="S2"), "tvet.forbidden_fields")
    assert (learner.value, learner.status) == (6.0, "fail")  # Tuesday's three in-person classes, 2 hours each
    group = _check(_report(data), "tvet.forbidden_fields")
    assert (group.value, group.status, group.details["learners"]) == (6.0, "fail", {"S2": 6.0})
    assert [(c["class"], c["learner"]) for c in group.details["learner_classes"]] == [
        ("C3", "S2"),
        ("C4", "S2"),
        ("C5", "S2"),
    ]
    programme = _check(_report(data, scope="programme", item="EM"), "tvet.forbidden_fields")
    assert (programme.value, programme.status) == (6.0, "fail")
    assert _check(_report(data, scope="learner", item="S1"), "tvet.forbidden_fields").status == "pass"


def test_a_distance_class_outside_the_approved_list_fails() -> None:
    data = full_time(["synchronous"] + ["in_person"] * 9)
    assert _check(_report(data), "tvet.approved_list").status == "pass"
    data["classes"][0]["discipline"] = "EM2"
    check = _check(_report(data), "tvet.approved_list")
    assert (check.value, check.status) == (2.0, "fail") and check.details["classes"][0]["discipline"] == "EM2"
    data["classes"][0]["discipline"] = "EM1"
    data["approved_lists"][0]["valid_from"] = "2026-09-08"  # the order came after the class
    assert _check(_report(data), "tvet.approved_list").status == "fail"


def test_every_episode_has_its_ground_and_evidence() -> None:
    data = full_time(["in_person"] * 10)
    base = {"start": at(8, 0).isoformat(), "end": at(9, 0).isoformat(), "approver": "Director"}
    data["episodes"] = [
        {
            **base,
            "id": "C",
            "ground": "competition",
            "learner": "S1",
            "documents": [{"kind": "authority_letter", "number": "1", "date": "2026-09-01"}],
        },
        {
            **base,
            "id": "W",
            "ground": "weather",
            "group": "G1",
            "documents": [{"kind": "head_order", "number": "2", "date": "2026-09-08"}],
        },
        {
            **{k: v for k, v in base.items() if k != "approver"},
            "id": "E",
            "ground": "emergency",
            "group": "G1",
            "documents": [],
        },
    ]
    report = _report(data)
    check = _check(report, "tvet.episode_grounds")
    assert (check.value, check.status) == (2.0, "fail")
    missing = {e["episode"]: e["missing"] for e in report.episodes}
    assert missing == {"C": ["no learner_application"], "W": [], "E": ["no department_order", "no approver"]}
    assert {e["episode"]: e["clause"] for e in report.episodes}["W"] == "annex 1 §15–21"


def higher(field: str, credits: list[tuple[float, float, str | None]]) -> dict[str, Any]:
    data = base_catalogue()
    data["programmes"][0].update(level="higher", field=field)
    data["programmes"][0]["disciplines"] = [
        {"code": f"D{n}", "name": f"D{n}", "credits": total, "distance_credits": distance, "recognition": kind}
        for n, (total, distance, kind) in enumerate(credits)
    ]
    return data


def test_higher_education_distance_and_recognised_credit_limits_by_field() -> None:
    restricted = higher("pedagogy", [(10, 10, None), (40, 0, None)])  # 10 of 50 credits: exactly 20 %
    report = _report(restricted, scope="programme", item="EM")
    check = _check(report, "higher.distance_share_restricted")
    assert (check.value, check.status, check.clause) == (20.0, "at_risk", "Order No. 137, rules §20")
    assert report.rules[0].version == "137-2026-07-12"
    assert (
        _check(
            _report(higher("pedagogy", [(11, 11, None), (39, 0, None)]), scope="programme", item="EM"),
            "higher.distance_share_restricted",
        ).status
        == "fail"
    )
    other = _report(higher("it", [(25, 25, None), (25, 0, None)]), scope="programme", item="EM")
    assert (_check(other, "higher.distance_share").value, _check(other, "higher.distance_share").status) == (
        50.0,
        "at_risk",
    )
    assert all(c.id != "higher.distance_share_restricted" for c in other.checks)
    mobility = _report(
        higher("it", [(10, 0, "mobility"), (10, 0, "exchange"), (30, 0, None)]), scope="programme", item="EM"
    )
    assert (
        _check(mobility, "higher.academic_mobility").value,
        _check(mobility, "higher.academic_mobility").status,
    ) == (20.0, "at_risk")
    assert (
        _check(mobility, "higher.double_degree").value == 20.0
        and _check(mobility, "higher.double_degree").status == "pass"
    )


def test_a_period_is_judged_by_the_rule_table_in_force_on_its_last_day(tmp_path: Path) -> None:
    table = json.loads((RULES_DIR / "higher.json").read_text())
    earlier = json.loads(json.dumps(table["versions"][0]))
    earlier.update(version="test-2025", effective_from="2025-01-01")
    for check in earlier["checks"]:
        if check["id"] == "higher.distance_share":
            check["at_most_percent"] = 30  # a made-up older limit, for this test only
    table["versions"].insert(0, earlier)
    (tmp_path / "higher.json").write_text(json.dumps(table))
    tables = (load_table(tmp_path / "higher.json"),)
    index = CatalogueIndex(catalogue(higher("it", [(20, 20, None), (30, 0, None)])))  # 40 % at a distance
    before = programme_report(
        index, "EM", Period(int(at(1, 0).timestamp()) - 90 * 86400, int(at(1, 0).timestamp()) - 60 * 86400), {}, tables
    )
    after = programme_report(index, "EM", PERIOD, {}, tables)
    assert (before.rules[0].version, _check(before, "higher.distance_share").status) == ("test-2025", "fail")
    assert (after.rules[0].version, _check(after, "higher.distance_share").status) == ("137-2026-07-12", "pass")
    shipped = programme_report(
        index, "EM", Period(int(at(1, 0).timestamp()) - 90 * 86400, int(at(1, 0).timestamp()) - 80 * 86400), {}
    )
    assert shipped.status == "not_assessed" and "2026-07-12" in shipped.checks[0].details["reason"]


def test_shipped_rule_tables_load_and_every_check_names_its_clause() -> None:
    tables = rule_tables()
    assert {t.table for t in tables} == {"tvet", "higher"}
    for table in tables:
        for version in table.versions:
            assert version.source and all(check.clause for check in version.checks)


def test_a_programme_takes_each_checks_worst_group() -> None:
    data = full_time(["synchronous"] * 2 + ["in_person"] * 8)
    data["groups"].append({"id": "G2", "programme": "EM"})
    data["learners"].append({"id": "S3", "name": "Three", "group": "G2", "accounts": [{"homePage": W, "name": "103"}]})
    data["classes"] += [
        {**c, "id": f"G2-{c['id']}", "group": "G2", "mode": "synchronous" if n < 3 else c["mode"]}
        for n, c in enumerate(full_time(["in_person"] * 10)["classes"])
    ]
    report = _report(data, scope="programme", item="EM")
    check = _check(report, "tvet.distance_share")
    assert (check.value, check.status, check.details["group"]) == (30.0, "fail", "G2")
    assert report.groups == {"G1": "at_risk", "G2": "fail"} and report.status == "fail"


def test_the_weather_day_report_counts_connected_learners_absentees_and_work_handed_in_later() -> None:
    data = base_catalogue(learners=3)
    data["assignments"] = [
        {
            "id": "A1",
            "programme": "EM",
            "discipline": "EM1",
            "activity": f"{W}/mod/assign/view.php?id=80",
            "due": at(11, 23, 59).isoformat(),
        }
    ]
    data["classes"] = [
        klass("M1", at(9, 9), mode="in_person", assignments=["A1"]),
        klass("M2", at(9, 11), mode="in_person"),
        klass("OTHER", at(10, 9), mode="in_person"),
    ]
    data["episodes"] = [
        {
            "id": "W",
            "ground": "weather",
            "group": "G1",
            "start": at(9, 0).isoformat(),
            "end": at(9, 23, 59).isoformat(),
            "shift": 1,
            "approver": "Director",
            "documents": [{"kind": "head_order", "number": "112-Ө", "date": "2026-09-09"}],
        }
    ]
    statements = [
        SITE.meeting("join", TEACHER, COURSE, ROOM, at(9, 8, 55)),
        SITE.meeting("join", user(1), COURSE, ROOM, at(9, 9, 1)),
        SITE.meeting("leave", user(1), COURSE, ROOM, at(9, 10, 30)),
        SITE.submitted(user(2), COURSE, ASSIGN, at(10, 18)),  # absent, hands the class's task in the next day
    ]
    index = CatalogueIndex(catalogue(data))
    report = weather_day(index, facts_from_statements(statements, COLLEGE), at(9, 0).date())
    first, second = report.classes
    assert (first.class_id, first.teacher_connected, first.connected, first.absent) == (
        "M1",
        True,
        ["S1"],
        ["S2", "S3"],
    )
    assert first.submitted_later == [{"learner": "S2", "assignment": "A1", "submitted": "2026-09-10T13:00:00Z"}]
    assert first.not_submitted == [{"learner": "S3", "assignment": "A1"}]
    assert (second.class_id, second.teacher_connected, second.connected) == ("M2", False, [])
    assert second.tasks == ["A1"]  # the discipline's assignment due within a week
    assert report.totals == {
        "classes": 2,
        "learners": 6,
        "connected": 1,
        "absent": 5,
        "unknown": 0,
        "submitted_later": 2,
    }
    assert report.episodes[0]["missing"] == [] and report.episodes[0]["shift"] == 1
    assert weather_day(index, facts_from_statements(statements, COLLEGE), at(10, 0).date()).classes == []


def test_a_weather_class_without_a_virtual_class_has_unknown_connections_unless_the_order_names_the_room() -> None:
    data = base_catalogue(learners=2)
    data["classes"] = [klass("M1", at(9, 9), mode="in_person", activity=None)]  # the timetable names no room
    order = {
        "id": "W",
        "ground": "weather",
        "group": "G1",
        "start": at(9, 0).isoformat(),
        "end": at(9, 23, 59).isoformat(),
        "approver": "Director",
        "documents": [{"kind": "head_order", "number": "112-Ө", "date": "2026-09-09"}],
    }
    data["episodes"] = [order]
    statements = [
        SITE.meeting("join", TEACHER, COURSE, ROOM, at(9, 8, 55)),
        SITE.meeting("join", user(1), COURSE, ROOM, at(9, 9, 1)),
        SITE.meeting("leave", user(1), COURSE, ROOM, at(9, 10, 30)),
    ]
    facts = facts_from_statements(statements, COLLEGE)
    (unnamed,) = weather_day(CatalogueIndex(catalogue(data)), facts, at(9, 0).date()).classes
    assert (unnamed.virtual_class, unnamed.connected, unnamed.absent, unnamed.unknown) == (False, [], [], ["S1", "S2"])
    data["episodes"] = [{**order, "activity": ROOM_IRI}]  # the order says where the day's classes are held
    report = weather_day(CatalogueIndex(catalogue(data)), facts, at(9, 0).date())
    (named,) = report.classes
    assert (named.room, named.teacher_connected, named.connected, named.absent, named.unknown) == (
        ROOM_IRI,
        True,
        ["S1"],
        ["S2"],
        [],
    )
    assert report.totals["unknown"] == 0 and report.totals["absent"] == 1


@pytest.mark.parametrize("scope", ["group", "learner"])
def test_reports_name_the_rules_they_used(scope: str) -> None:
    report = _report(full_time(["in_person"] * 10), scope=scope, item="G1" if scope == "group" else "S1")
    assert report.rules[0].table == "tvet" and report.rules[0].version == "349/103-2025"
    assert report.status == "pass"
