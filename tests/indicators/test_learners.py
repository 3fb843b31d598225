"""A learner's indicators on hand-made statements whose answers are worked out here, minute by minute."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from footprint.semester.moodle import Course, Module
from tests.indicators.helpers import (
    ASSIGN,
    ASSIGN2,
    COURSE,
    EXAM,
    OLD_SITE,
    OTHER_COURSE,
    PAGE,
    PAGE2,
    QUIZ,
    ROOM,
    ROOM_IRI,
    SITE,
    TEACHER,
    W,
    at,
    attended,
    base_catalogue,
    cmi5,
    compute,
    klass,
    proctoring,
    user,
    virtual_classroom,
)


def test_attendance_of_one_class_from_join_leave_attended_and_the_missing_leave_rule() -> None:
    data = base_catalogue(learners=10)
    registration = str(uuid.uuid4())
    data["classes"] = [klass("C1", at(7, 9), registration=registration)]  # Monday 09:00–10:30
    data["learners"][8]["aliases"] = ["Nine in BBB"]
    u = user
    statements = [
        SITE.meeting("join", u(1), COURSE, ROOM, at(7, 8, 58)),
        SITE.meeting("leave", u(1), COURSE, ROOM, at(7, 10, 31)),
        SITE.meeting("join", u(2), COURSE, ROOM, at(7, 9, 15)),  # 15 min after the start: late
        SITE.meeting("leave", u(2), COURSE, ROOM, at(7, 10, 30)),
        SITE.meeting("join", u(3), COURSE, ROOM, at(7, 9, 0)),
        SITE.meeting("leave", u(3), COURSE, ROOM, at(7, 10, 0)),  # 30 min before the end: left early
        # learner 4 sends nothing: absent
        SITE.meeting("join", u(5), COURSE, ROOM, at(7, 9, 1)),  # a closed tab: no leave ever comes
        SITE.meeting("join", u(6), COURSE, ROOM, at(7, 9, 0)),  # no leave, but a new sign-in at 09:40
        SITE.logged_in(u(6), at(7, 9, 40)),
        attended(7, ROOM_IRI, at(7, 11, 0), completion=True, late=True),  # the teacher's record, after the class
        SITE.group_member_added(u(8), TEACHER, COURSE, 3, at(7, 9, 5)),  # join of a *group*: not attendance
        virtual_classroom("join", "Nine in BBB", registration, at(7, 9, 2)),
        virtual_classroom("leave", "Nine in BBB", registration, at(7, 10, 29)),
        SITE.meeting("join", u(10), COURSE, ROOM, at(7, 8, 50)),  # in and out before the class began
        SITE.meeting("leave", u(10), COURSE, ROOM, at(7, 8, 55)),
    ]
    result = compute(data, statements, at(7, 0), at(14, 0))
    seen = {s: result.learners[s].attendance.classes[0] for s in result.learners}
    assert {s: c.status for s, c in seen.items()} == {
        "S1": "present",
        "S2": "late",
        "S3": "left_early",
        "S4": "absent",
        "S5": "present",
        "S6": "left_early",
        "S7": "late",
        "S8": "absent",
        "S9": "present",
        "S10": "absent",
    }
    assert seen["S1"].minutes_present == 90.0 and not seen["S1"].end_inferred
    assert seen["S3"].minutes_present == 60.0 and seen["S3"].presence_end == "2026-09-07T05:00:00Z"
    assert seen["S5"].minutes_present == 89.0 and seen["S5"].end_inferred  # present until the class's end
    assert seen["S5"].presence_end == "2026-09-07T05:30:00Z"
    assert seen["S6"].minutes_present == 40.0 and seen["S6"].end_inferred  # closed by the next login
    assert seen["S7"].source == "attended"
    assert seen["S9"].source == "meeting" and seen["S9"].minutes_present == 87.0
    assert result.learners["S1"].attendance.rate == 1.0
    assert result.groups["G1"].summary.attendance == {"present": 3, "late": 2, "left_early": 2, "absent": 3}
    assert result.groups["G1"].summary.attendance_rate == 0.7


def test_presence_before_a_classs_window_is_carried_in() -> None:
    """Back-to-back classes in one reused BigBlueButton room: whoever stays from the first is in the second."""
    data = base_catalogue(learners=4)
    data["classes"] = [klass("C1", at(7, 9)), klass("C2", at(7, 10, 40)), klass("C3", at(7, 14))]
    u = user
    statements = [
        SITE.meeting("join", TEACHER, COURSE, ROOM, at(7, 8, 55)),
        SITE.meeting("leave", TEACHER, COURSE, ROOM, at(7, 12, 15)),  # stayed through both
        SITE.meeting("join", u(1), COURSE, ROOM, at(7, 8, 58)),
        SITE.meeting("leave", u(1), COURSE, ROOM, at(7, 12, 12)),  # stayed through both
        SITE.meeting("join", u(2), COURSE, ROOM, at(7, 8, 59)),  # closed the tab: the leave is missing
        SITE.meeting("join", u(3), COURSE, ROOM, at(7, 8, 58)),
        SITE.meeting("leave", u(3), COURSE, ROOM, at(7, 10, 29)),  # left after the first
        SITE.meeting("join", u(3), COURSE, ROOM, at(7, 10, 50)),  # and came back ten minutes late
        SITE.meeting("leave", u(3), COURSE, ROOM, at(7, 12, 10)),
        SITE.meeting("join", u(4), COURSE, ROOM, at(7, 13, 25)),  # 35 min early for the third, no leave
    ]
    result = compute(data, statements, at(7, 0), at(8, 0))
    status = {s: [c.status for c in result.learners[s].attendance.classes] for s in result.learners}
    assert status == {
        "S1": ["present", "present", "absent"],
        "S2": ["present", "absent", "absent"],  # the missing leave is closed at the first class's end, as before
        "S3": ["present", "present", "absent"],  # back 10 min after the start: not more than 10 min late
        "S4": ["absent", "absent", "present"],  # the early join belongs to the next class: present to its end
    }
    second = result.learners["S1"].attendance.classes[1]
    assert (second.minutes_present, second.first_join) == (90.0, "2026-09-07T03:58:00Z")
    third = result.learners["S4"].attendance.classes[2]
    assert (third.minutes_present, third.end_inferred) == (90.0, True)
    teacher = result.teachers["T1"]
    assert [(c.class_id, c.held, c.on_time) for c in teacher.classes] == [
        ("C1", True, True),
        ("C2", True, True),
        ("C3", False, False),
    ]


def test_attended_with_completion_false_is_absent_and_classes_outside_the_period_do_not_count() -> None:
    data = base_catalogue(learners=1)
    register = f"{W}/mod/attendance/view.php?id=5"  # a register, not a meeting: its records still count
    data["classes"] = [
        klass("C1", at(7, 9), activity=register),
        klass("C2", at(14, 9)),
        klass("IN", at(8, 9), mode="in_person"),
    ]
    statements = [attended(1, register, at(7, 10, 45), completion=False)]
    result = compute(data, statements, at(7, 0), at(14, 0))
    classes = result.learners["S1"].attendance.classes
    assert [(c.class_id, c.status, c.source) for c in classes] == [("C1", "absent", "attended")]
    assert [(w.week, w.classes, w.attended) for w in result.learners["S1"].attendance.weeks] == [(0, 1, 0)]


def test_logins_per_week_longest_gap_last_access_weekend_and_night() -> None:
    data = base_catalogue(learners=1)
    logins = [at(7, 10), at(7, 23, 30), at(12, 12), at(16, 10)]  # Mon, Mon night, Saturday, next Wednesday
    statements = [SITE.logged_in(user(1), moment) for moment in logins]
    statements.append(OLD_SITE.logged_in(user(2), at(8, 10)))  # someone else's
    logins_of = compute(data, statements, at(7, 0), at(21, 0)).learners["S1"].logins
    assert logins_of.logins == 4
    assert logins_of.per_week == [3, 1]
    assert logins_of.mean_per_week == 2.0
    assert logins_of.longest_gap_days == round((4 * 24 + 14) / 24, 2)  # Wednesday 10:00 to the period's end
    assert logins_of.last_access == "2026-09-16T05:00:00Z"
    assert logins_of.weekend_share == 0.25 and logins_of.night_share == 0.25


def test_weekend_and_night_are_read_in_the_offset_of_each_moment() -> None:
    """Almaty moved from UTC+6 to UTC+5 on 1 March 2024: 16:30 UTC was 22:30 before it and 21:30 after."""
    data = base_catalogue(learners=1)
    utc = UTC
    moments = [
        datetime(2024, 2, 26, 16, 30, tzinfo=utc),  # Monday 22:30 in Almaty: night
        datetime(2024, 3, 4, 16, 30, tzinfo=utc),  # Monday 21:30 in Almaty: evening
        datetime(2024, 3, 2, 18, 30, tzinfo=utc),  # Saturday 23:30: weekend and night
        datetime(2024, 3, 3, 18, 30, tzinfo=utc),  # Sunday 23:30
        datetime(2024, 3, 3, 19, 30, tzinfo=utc),  # Monday 00:30: night, no longer the weekend
    ]
    statements = [SITE.logged_in(user(1), moment) for moment in moments]
    since, until = datetime(2024, 2, 20, tzinfo=utc), datetime(2024, 3, 10, tzinfo=utc)
    logins_of = compute(data, statements, since, until).learners["S1"].logins
    assert (logins_of.night_share, logins_of.weekend_share) == (0.8, 0.4)


def test_materials_viewed_launched_completed_progress_and_the_time_estimate() -> None:
    data = base_catalogue(learners=1)
    scorm = f"{W}/mod/scorm/view.php?id=73#sco"
    statements = [
        SITE.module_viewed(user(1), COURSE, PAGE, at(7, 10, 0)),  # until the next statement: 20 min
        SITE.module_viewed(user(1), COURSE, PAGE, at(7, 10, 20)),  # 5 min
        cmi5(
            "launched",
            1,
            scorm,
            at(7, 10, 25),
            context={"contextActivities": {"parent": [{"id": f"{W}/course/view.php?id=7"}]}},
        ),  # 5
        SITE.module_completed(user(1), COURSE, PAGE, at(7, 10, 30)),
        SITE.module_completed(user(1), COURSE, PAGE2, at(7, 10, 31)),
        SITE.module_completed(user(1), COURSE, PAGE2, at(7, 10, 40), done=False),  # completion taken back
        SITE.module_viewed(user(1), COURSE, PAGE2, at(7, 12, 0)),  # an hour till the next: capped at 30 min
        SITE.logged_in(user(1), at(7, 13, 0)),
        SITE.module_viewed(user(1), OTHER_COURSE, Module("page", 99, "x"), at(7, 13, 5)),  # another discipline
    ]
    materials = {m.discipline: m for m in compute(data, statements, at(7, 0), at(14, 0)).learners["S1"].materials}
    em1 = materials["EM1"]
    assert (em1.viewed, em1.launched, em1.completed) == (2, 1, 1)
    assert em1.listed == 2 and em1.progress == 0.5
    assert em1.minutes_estimate == 20 + 5 + 5 + 30
    assert materials["EM2"].viewed == 1 and materials["EM2"].listed is None and materials["EM2"].progress is None


def test_assignments_on_time_late_missing_pending_with_scores_from_raw_min_max_in_both_vocabularies() -> None:
    data = base_catalogue(learners=1)
    data["assignments"] = [
        {
            "id": "A1",
            "programme": "EM",
            "discipline": "EM1",
            "activity": f"{W}/mod/assign/view.php?id=80",
            "due": at(10, 23, 59).isoformat(),
        },
        {
            "id": "A2",
            "programme": "EM",
            "discipline": "EM1",
            "activity": f"{W}/mod/assign/view.php?id=81",
            "due": at(17, 23, 59).isoformat(),
        },
        {
            "id": "A3",
            "programme": "EM",
            "discipline": "EM2",
            "activity": f"{W}/mod/assign/view.php?id=82",
            "due": at(24, 23, 59).isoformat(),
        },
        {
            "id": "A4",
            "programme": "EM",
            "discipline": "EM2",
            "activity": f"{W}/mod/assign/view.php?id=83",
            "due": at(30, 23, 59).isoformat(),
        },
    ]
    statements = [
        SITE.submitted(user(1), COURSE, ASSIGN, at(10, 20)),  # 4.8+: object …#submission
        SITE.submitted(user(1), COURSE, ASSIGN, at(12, 9)),  # a resubmission after the due date: still on time
        SITE.graded(user(1), TEACHER, COURSE, ASSIGN, 8, 10, at(11, 20), "good"),  # plugin's scaled: 0.6
        OLD_SITE.submitted(user(1), COURSE, ASSIGN2, at(18, 8)),  # before 4.8: the module itself, a day late
        OLD_SITE.graded(user(1), TEACHER, COURSE, ASSIGN2, 50, 100, at(20, 8)),
        SITE.quiz_submitted(user(1), COURSE, QUIZ, 1, 50, 100, at(15, 10), 600),  # scaled sent as 0.0
        OLD_SITE.quiz_submitted(user(1), COURSE, QUIZ, 2, 7, 10, at(16, 10), 600),
    ]
    learner = compute(data, statements, at(7, 0), at(28, 0)).learners["S1"]
    statuses = {(a.assignment, a.status, a.score) for a in learner.assignments}
    assert statuses == {("A1", "on_time", 0.8), ("A2", "late", 0.5), ("A3", "missing", None), ("A4", "pending", None)}
    assert learner.assignment_counts == {"on_time": 1, "late": 1, "missing": 1, "pending": 1}
    first = next(a for a in learner.assignments if a.assignment == "A1")
    assert first.submitted == "2026-09-10T15:00:00Z"
    scores = {s.discipline: s for s in learner.scores}["EM1"]
    assert (scores.graded, scores.quiz_attempts) == (2, 2)
    assert scores.mean_score == pytest.approx((0.8 + 0.5 + 0.5 + 0.7) / 4)
    assert (scores.best_score, scores.last_score) == (0.8, 0.5)  # the last by time is the grade of 20 September
    later = compute(data, statements, at(14, 0), at(28, 0)).learners["S1"]  # A1 was due before this period
    assert {(a.assignment, a.status) for a in later.assignments} == {
        ("A2", "late"),
        ("A3", "missing"),
        ("A4", "pending"),
    }
    assert later.assignment_counts == {"on_time": 0, "late": 1, "missing": 1, "pending": 1}


def test_attestation_results_and_mastery_from_verdicts_cmi5_and_course_completion() -> None:
    data = base_catalogue(learners=1)
    second_exam = "22222222-2222-4333-8444-555555555555"
    data["programmes"][0]["disciplines"][1]["exams"] = [second_exam]
    data["programmes"][0]["disciplines"].append(
        {"code": "EM3", "name": "Drawing", "hours": 20, "course": f"{W}/course/view.php?id=9"}
    )
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    statements = [
        proctoring("S1", EXAM, first, at(14, 11), None, score=12.5),
        proctoring("S1", EXAM, first, at(15, 9), "confirmed"),
        proctoring("S1", EXAM, first, at(16, 9), "annulled"),  # a later verdict on the same session wins
        proctoring("S1", second_exam, second, at(15, 11), None, score=3.0),
        proctoring("S1", second_exam, second, at(16, 11), "confirmed"),
        cmi5("failed", 1, f"{W}/course/view.php?id=9", at(17, 9)),
        SITE.course_completed(user(1), Course(9, "Drawing"), at(18, 9)),  # a pass after the failure
    ]
    learner = compute(data, statements, at(7, 0), at(28, 0)).learners["S1"]
    results = [(a.discipline, a.source, a.result, a.suspicion_score) for a in learner.attestations]
    assert results == [
        ("EM1", "proctoring", "annulled", 12.5),
        ("EM2", "proctoring", "confirmed", 3.0),
        ("EM3", "cmi5", "failed", None),
    ]
    assert learner.mastery.passed == ["EM2", "EM3"]
    assert learner.mastery.failed == ["EM1"]
    assert learner.mastery.disciplines == 4 and learner.mastery.share == 0.5


def test_a_voided_statement_stops_counting() -> None:
    data = base_catalogue(learners=1)
    login = SITE.logged_in(user(1), at(7, 10))
    void = {
        "id": str(uuid.uuid4()),
        "actor": SITE.actor(TEACHER),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": login["id"]},
        "timestamp": at(8, 10).isoformat(),
    }
    assert compute(data, [login], at(7, 0), at(14, 0)).learners["S1"].logins.logins == 1
    assert compute(data, [login, void], at(7, 0), at(14, 0)).learners["S1"].logins.logins == 0


def test_unknown_verbs_and_people_are_counted_never_used() -> None:
    data = base_catalogue(learners=1)
    statements = [
        SITE.forum_replied(user(1), COURSE, Module("forum", 95, "Forum"), 1, 1, at(7, 10)),
        SITE.logged_in(user(42), at(7, 11)),  # not in the catalogue
        SITE.logged_in(user(1), at(7, 12)),
    ]
    result = compute(data, statements, at(7, 0), at(14, 0))
    assert result.counted.facts == 3
    assert result.counted.unmatched == 1
    assert result.counted.unknown_verbs == {"http://id.tincanapi.com/verb/replied": 1}
    assert result.learners["S1"].logins.statements == 2


def test_in_the_room_20_minutes_early_is_there_from_the_start_and_a_rejoin_counts_its_own_time() -> None:
    data = base_catalogue(learners=1)
    data["classes"] = [klass("C1", at(7, 9))]
    statements = [
        SITE.meeting("join", user(1), COURSE, ROOM, at(7, 8, 40)),  # 20 min early: before the 15-min window
        SITE.meeting("leave", user(1), COURSE, ROOM, at(7, 9, 20)),  # but still there at the start
        SITE.meeting("join", user(1), COURSE, ROOM, at(7, 9, 50)),
        SITE.meeting("leave", user(1), COURSE, ROOM, at(7, 10, 30)),
    ]
    seen = compute(data, statements, at(7, 0), at(14, 0)).learners["S1"].attendance.classes[0]
    assert seen.status == "present" and seen.first_join == "2026-09-07T03:40:00Z"
    assert seen.minutes_present == 20.0 + 40.0 and seen.presence_end == "2026-09-07T05:30:00Z"
