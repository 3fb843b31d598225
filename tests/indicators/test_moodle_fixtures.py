"""Statements of exactly the shapes in Moodle's logstore_xapi test fixtures (4.8+ and before 4.8) are stored by
the LRS and counted correctly: logins (not a "log in as"), views, completions, submissions, grades from
raw/min/max (never `scaled`), quiz attempts, BigBlueButton joins and leaves, but not a group's join."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from footprint.accounts import create_college
from footprint.catalogue.index import CatalogueIndex
from footprint.facts.columns import load_facts
from footprint.facts.project import project
from footprint.indicators.college import college_indicators
from footprint.indicators.period import Period
from footprint.ledger import Ledger
from footprint.store import make_engine, make_session_factory, migrate
from footprint.vocabulary import Category, Kind
from footprint.xapi.statements import store_statements
from tests.indicators.helpers import KZ, catalogue

FIXTURES = json.loads((Path(__file__).parent / "data" / "moodle_fixtures.json").read_text())
W = "http://www.example.org"
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://proctor.kz/credentials/x", "name": "moodle"}}


def when(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 9, 7, hour, minute, tzinfo=KZ)


TIMES = {
    "login": when(8, 30),
    "login_as": when(8, 31),
    "course_viewed": when(8, 35),
    "resource_viewed": when(8, 36),
    "page_viewed": when(8, 37),
    "scorm_launched": when(8, 38),
    "completed": when(8, 40),
    "uncompleted": when(8, 50),
    "bbb_joined": when(9, 0),
    "group_joined": when(9, 5),
    "bbb_left": when(10, 30),
    "submitted": when(11, 0),
    "graded": when(12, 0),
    "quiz_started": when(13, 0),
    "quiz_submitted": when(13, 30),
    "forum_post": when(14, 0),
    "course_completed": when(15, 0),
}


def statements(vocabulary: str) -> list[dict[str, Any]]:
    """The fixtures with the event time the plugin sends (the tests strip it) set to a time of the test day."""
    found = []
    for key, statement in FIXTURES[vocabulary].items():
        item = copy.deepcopy(statement)
        item["timestamp"] = (TIMES[key] + timedelta(seconds=1 if vocabulary == "old" else 0)).isoformat()
        found.append(item)
    return found


@pytest.mark.parametrize(
    ("key", "kind", "category", "target", "course"),
    [
        ("login", Kind.LOGIN, Category.SITE, W, None),
        ("login_as", Kind.LOGIN_AS, Category.SITE, W, None),
        ("course_viewed", Kind.VIEWED, Category.COURSE, f"{W}/course/view.php?id=2", f"{W}/course/view.php?id=2"),
        (
            "resource_viewed",
            Kind.VIEWED,
            Category.MODULE,
            f"{W}/mod/resource/view.php?id=1",
            f"{W}/course/view.php?id=2",
        ),
        ("uncompleted", Kind.UNCOMPLETED, Category.MODULE, f"{W}/mod/book/view.php?id=1", f"{W}/course/view.php?id=2"),
        ("submitted", Kind.SUBMITTED, Category.MODULE, f"{W}/mod/assign/view.php?id=1", f"{W}/course/view.php?id=2"),
        ("graded", Kind.SCORED, Category.MODULE, f"{W}/mod/assign/view.php?id=1", f"{W}/course/view.php?id=2"),
        (
            "quiz_submitted",
            Kind.COMPLETED,
            Category.ATTEMPT,
            f"{W}/mod/quiz/view.php?id=1",
            f"{W}/course/view.php?id=2",
        ),
        (
            "bbb_joined",
            Kind.JOINED,
            Category.MEETING,
            f"{W}/mod/bigbluebuttonbn/view.php?id=1",
            f"{W}/course/view.php?id=2",
        ),
        (
            "bbb_left",
            Kind.LEFT,
            Category.MEETING,
            f"{W}/mod/bigbluebuttonbn/view.php?id=1",
            f"{W}/course/view.php?id=2",
        ),
        ("group_joined", Kind.JOINED, Category.GROUP, f"{W}/group/index.php?id=1", f"{W}/course/view.php?id=2"),
        ("forum_post", Kind.OTHER, Category.MODULE, f"{W}/mod/forum/discuss.php?d=1", f"{W}/course/view.php?id=2"),
        ("scorm_launched", Kind.LAUNCHED, Category.MODULE, f"{W}/mod/scorm/view.php?id=1", f"{W}/course/view.php?id=2"),
    ],
)
def test_the_current_vocabulary_projects_to_what_each_event_means(
    key: str, kind: Kind, category: Category, target: str, course: str | None
) -> None:
    fact = project({**FIXTURES["new"][key], "timestamp": "2026-09-07T10:00:00Z"}, "c")
    assert (fact.kind, fact.category, fact.object, fact.course) == (kind, category, target, course)
    assert fact.actor is not None and fact.actor.startswith(f"account:{W}|")


@pytest.mark.parametrize(
    ("key", "kind", "category", "target"),
    [
        ("login", Kind.LOGIN, Category.SITE, W),
        ("course_viewed", Kind.VIEWED, Category.COURSE, f"{W}/course/view.php?id=1"),
        ("page_viewed", Kind.VIEWED, Category.MODULE, f"{W}/mod/page/view.php?id=1"),
        ("submitted", Kind.SUBMITTED, Category.MODULE, f"{W}/mod/assign/view.php?id=1"),
        ("graded", Kind.SCORED, Category.MODULE, f"{W}/mod/assign/view.php?id=1"),
        ("quiz_submitted", Kind.COMPLETED, Category.MODULE, f"{W}/mod/quiz/view.php?id=1"),
        ("bbb_joined", Kind.JOINED, Category.MEETING, f"{W}/mod/bigbluebuttonbn/view.php?id=1"),
    ],
)
def test_the_vocabulary_before_4_8_projects_the_same_way(key: str, kind: Kind, category: Category, target: str) -> None:
    fact = project(FIXTURES["old"][key], "c")
    assert (fact.kind, fact.category, fact.object) == (kind, category, target)
    expected_course = None if key in ("login", "course_viewed") else f"{W}/course/view.php?id=1"
    assert fact.course == (f"{W}/course/view.php?id=1" if key == "course_viewed" else expected_course)


def test_scores_come_from_raw_min_max_never_from_scaled() -> None:
    new = project({**FIXTURES["new"]["graded"], "timestamp": "2026-09-07T10:00:00Z"}, "c")
    old = project(FIXTURES["old"]["graded"], "c")
    assert FIXTURES["new"]["graded"]["result"]["score"]["scaled"] == 0.0  # the plugin's −1…1 mapping
    assert FIXTURES["old"]["graded"]["result"]["score"]["scaled"] == 0.5
    assert (new.raw, new.low, new.high, new.instructor) == (1.0, 0.0, 2.0, f"account:{W}|1")
    assert (old.raw, old.low, old.high, old.instructor) == (1.0, 0.0, 2.0, f"account:{W}|1")
    assert new.feedback == 1 and old.feedback == 1  # the grader's comment is in result.response


def _catalogue() -> dict[str, Any]:
    return {
        "programmes": [
            {
                "id": "P",
                "name": "Programme",
                "level": "tvet",
                "form": "full_time",
                "field": "it",
                "disciplines": [
                    {
                        "code": "NEW",
                        "name": "Course 2",
                        "hours": 10,
                        "course": f"{W}/course/view.php?id=2",
                        "materials": [f"{W}/mod/resource/view.php?id=1", f"{W}/mod/book/view.php?id=1"],
                    },
                    {
                        "code": "OLD",
                        "name": "Course 1",
                        "hours": 10,
                        "course": f"{W}/course/view.php?id=1",
                        "materials": [f"{W}/mod/page/view.php?id=1", f"{W}/mod/book/view.php?id=1"],
                    },
                ],
            }
        ],
        "groups": [{"id": "G", "programme": "P"}],
        "learners": [
            {"id": "L1", "name": "test_fullname", "group": "G", "accounts": [{"homePage": W, "name": "1"}]},
            {"id": "L2", "name": "test2_fullname", "group": "G", "accounts": [{"homePage": W, "name": "2"}]},
        ],
        "teachers": [{"id": "T", "name": "Teacher", "accounts": [{"homePage": W, "name": "77"}]}],
        "classes": [
            {
                "id": "C",
                "group": "G",
                "teacher": "T",
                "discipline": "NEW",
                "start": when(9).isoformat(),
                "end": when(10, 30).isoformat(),
                "mode": "synchronous",
                "activity": f"{W}/mod/bigbluebuttonbn/view.php?id=1",
            }
        ],
        "assignments": [
            {
                "id": "A",
                "programme": "P",
                "discipline": "NEW",
                "activity": f"{W}/mod/assign/view.php?id=1",
                "due": when(23, 59).isoformat(),
            }
        ],
    }


def test_both_vocabularies_stored_by_the_lrs_are_counted_correctly(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fixtures.db'}")
    migrate(engine)
    sessions = make_session_factory(engine)
    ledger = Ledger("test.proctor.kz/log")
    try:
        with sessions.begin() as db:
            college = create_college(db, "Fixture College")
            for vocabulary in ("new", "old"):
                store_statements(
                    db, ledger, statements(vocabulary), college_id=college, authority=AUTHORITY, version="1.0.3"
                )
        with Session(engine) as db:
            facts = load_facts(db, college, ledger.size(db))
    finally:
        engine.dispose()
    index = CatalogueIndex(catalogue(_catalogue()))
    result = college_indicators(index, facts, Period(int(when(0).timestamp()), int(when(0).timestamp()) + 86400))
    first, second = result.learners["L1"], result.learners["L2"]
    assert first.logins.logins == 2  # one per vocabulary; the administrator's "log in as" is no one's login
    assert [c.status for c in first.attendance.classes] == ["present"]  # new and old join/leave: one presence
    assert first.attendance.classes[0].minutes_present == 90.0
    assert [c.status for c in second.attendance.classes] == ["absent"]
    materials = {m.discipline: m for m in first.materials}
    assert (materials["NEW"].viewed, materials["NEW"].launched, materials["NEW"].completed) == (1, 1, 0)  # uncompleted
    assert (materials["OLD"].viewed, materials["OLD"].completed, materials["OLD"].progress) == (1, 1, 0.5)
    assert [(a.status, a.submitted is not None) for a in first.assignments] == [("on_time", True)]
    assert [(a.status, a.score) for a in second.assignments] == [("missing", 0.5)]  # graded, never submitted
    scores = {s.discipline: s for s in first.scores}
    assert (scores["NEW"].quiz_attempts, scores["NEW"].mean_score) == (1, 0.5)  # raw 50 of 100, scaled sent as 0
    assert (scores["OLD"].quiz_attempts, scores["OLD"].mean_score) == (1, 0.5)
    assert {s.discipline: s.graded for s in second.scores} == {"NEW": 1, "OLD": 1}
    assert first.mastery.passed == ["NEW"]  # the course completion of the 4.8+ plugin
    assert result.counted.unknown_verbs == {"http://id.tincanapi.com/verb/replied": 1}
    assert result.counted.facts == len(FIXTURES["new"]) + len(FIXTURES["old"])
