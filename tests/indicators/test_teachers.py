"""A teacher's classes held live and on time, and grading turnaround, feedback and work left ungraded."""

from __future__ import annotations

import pytest

from footprint.catalogue.checks import CatalogueError
from footprint.catalogue.index import CatalogueIndex
from footprint.compliance.report import held_classes
from footprint.facts.columns import facts_from_statements
from footprint.indicators.period import Period
from tests.indicators.helpers import (
    ASSIGN,
    ASSIGN2,
    COLLEGE,
    COURSE,
    ROOM,
    SITE,
    TEACHER,
    W,
    at,
    base_catalogue,
    catalogue,
    compute,
    klass,
    user,
)


def test_classes_held_on_time_turnaround_feedback_and_ungraded_work() -> None:
    data = base_catalogue(learners=2)
    data["classes"] = [
        klass("C1", at(7, 9)),
        klass("C2", at(8, 9)),
        klass("C3", at(9, 9)),
        klass("IN", at(10, 9), mode="in_person"),
    ]
    data["assignments"] = [
        {
            "id": "A1",
            "programme": "EM",
            "discipline": "EM1",
            "activity": f"{W}/mod/assign/view.php?id=80",
            "due": at(11, 23).isoformat(),
        },
        {
            "id": "A2",
            "programme": "EM",
            "discipline": "EM1",
            "activity": f"{W}/mod/assign/view.php?id=81",
            "due": at(18, 23).isoformat(),
        },
    ]
    statements = [
        SITE.meeting("join", TEACHER, COURSE, ROOM, at(7, 8, 57)),  # held, on time
        SITE.meeting("join", TEACHER, COURSE, ROOM, at(8, 9, 10)),  # held, 10 min late
        # C3: the teacher never joined
        SITE.submitted(user(1), COURSE, ASSIGN, at(10, 20)),
        SITE.graded(user(1), TEACHER, COURSE, ASSIGN, 9, 10, at(11, 20), "good work"),  # 24 h, with feedback
        SITE.submitted(user(1), COURSE, ASSIGN2, at(17, 8)),
        SITE.submitted(user(1), COURSE, ASSIGN2, at(18, 8)),  # resubmitted: the turnaround runs from here
        SITE.graded(user(1), TEACHER, COURSE, ASSIGN2, 5, 10, at(20, 8)),  # 48 h, no comment
        SITE.submitted(user(2), COURSE, ASSIGN, at(11, 9)),  # never graded
        SITE.submitted(user(2), COURSE, ASSIGN2, at(12, 9)),
        SITE.graded(user(2), TEACHER, COURSE, ASSIGN2, 7, 10, at(13, 9)),
        SITE.submitted(user(2), COURSE, ASSIGN2, at(14, 9)),  # handed in again after the grade: waits again
    ]
    teacher = compute(data, statements, at(7, 0), at(28, 0)).teachers["T1"]
    assert (teacher.scheduled, teacher.held, teacher.on_time) == (3, 2, 1)
    assert (teacher.held_share, teacher.on_time_share) == (round(2 / 3, 4), round(1 / 3, 4))
    assert [(c.class_id, c.held, c.on_time) for c in teacher.classes] == [
        ("C1", True, True),
        ("C2", True, False),
        ("C3", False, False),
    ]
    grading = teacher.grading
    assert (grading.graded, grading.feedback, grading.feedback_share) == (3, 1, round(1 / 3, 4))
    assert (grading.turnaround_hours_median, grading.turnaround_hours_mean) == (24.0, 32.0)  # 24, 48 and 24 hours
    assert grading.ungraded == 2


def test_a_learners_own_join_never_counts_as_the_teacher_whose_alias_is_the_learners_name() -> None:
    """One rule for whose a statement is: by display name only when its actor is no catalogue person's account."""
    data = base_catalogue(learners=1)
    data["teachers"][0]["aliases"] = ["Learner 1"]  # the teacher's BigBlueButton name happens to be the learner's
    data["classes"] = [klass("C1", at(7, 9))]
    joined = [SITE.meeting("join", user(1), COURSE, ROOM, at(7, 9, 1))]  # Moodle names the learner "Learner 1"
    college = compute(data, joined, at(7, 0), at(8, 0))
    assert college.teachers["T1"].held == 0  # the teacher never came
    assert college.learners["S1"].attendance.counts["present"] == 1
    index = CatalogueIndex(catalogue(data))
    period = Period(int(at(7, 0).timestamp()), int(at(8, 0).timestamp()))
    assert held_classes(index, facts_from_statements(joined, COLLEGE), period) == {"C1": False}


def test_one_display_name_may_not_name_two_people() -> None:
    data = base_catalogue(learners=2)
    data["learners"][0]["aliases"] = ["Айгерім  С."]
    data["teachers"][0]["aliases"] = ["айгерім с."]  # the same name as BigBlueButton compares names
    with pytest.raises(CatalogueError, match="alias 'айгерім с.' belongs to more than one person"):
        catalogue(data)
