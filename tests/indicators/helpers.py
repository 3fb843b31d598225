"""Hand-made catalogues and statements for the indicator tests (the answers are worked out in each test)."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from footprint.accounts import proctoring_authority
from footprint.catalogue.checks import check_catalogue
from footprint.catalogue.index import CatalogueIndex
from footprint.catalogue.model import Catalogue
from footprint.facts.columns import facts_from_statements
from footprint.indicators.college import CollegeIndicators, college_indicators
from footprint.indicators.period import Period
from footprint.semester.moodle import Course, Module, MoodleSite, User

KZ = timezone(timedelta(hours=5))
W = "https://lms.example.kz"
COLLEGE = "college-under-test"
SITE = MoodleSite(W, "Example LMS")
OLD_SITE = MoodleSite(W, "Example LMS", old=True)
COURSE = Course(7, "Electrical machines")
OTHER_COURSE = Course(8, "Safety")
ROOM = Module("bigbluebuttonbn", 70, "Lecture room")
PAGE = Module("page", 71, "Lecture 1")
PAGE2 = Module("page", 72, "Lecture 2")
ASSIGN = Module("assign", 80, "Lab 1")
ASSIGN2 = Module("assign", 81, "Lab 2")
QUIZ = Module("quiz", 90, "Test 1")
TEACHER = User(9, "Teacher One")
ROOM_IRI = f"{W}/mod/bigbluebuttonbn/view.php?id=70"
EXAM = "11111111-2222-4333-8444-555555555555"
PLATFORM = "https://proctor.example.kz"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in September 2026 (the 7th is a Monday)."""
    return datetime(2026, 9, day, hour, minute, tzinfo=KZ)


def user(number: int) -> User:
    return User(100 + number, f"Learner {number}")


def base_catalogue(learners: int = 2) -> dict[str, Any]:
    """One full-time TVET programme (a taught discipline and a practice), one group, one teacher."""
    return {
        "timezone": "Asia/Almaty",
        "programmes": [
            {
                "id": "EM",
                "name": "Electrical installation",
                "level": "tvet",
                "form": "full_time",
                "field": "energy",
                "disciplines": [
                    {
                        "code": "EM1",
                        "name": "Machines",
                        "hours": 100,
                        "course": f"{W}/course/view.php?id=7",
                        "materials": [f"{W}/mod/page/view.php?id=71", f"{W}/mod/page/view.php?id=72"],
                        "exams": [EXAM],
                    },
                    {"code": "EM2", "name": "Safety", "hours": 50, "course": f"{W}/course/view.php?id=8"},
                    {"code": "PR", "name": "Practice", "hours": 40, "practice": True},
                ],
            }
        ],
        "groups": [{"id": "G1", "programme": "EM"}],
        "learners": [
            {"id": f"S{n}", "name": f"Learner {n}", "group": "G1", "accounts": [{"homePage": W, "name": str(100 + n)}]}
            for n in range(1, learners + 1)
        ],
        "teachers": [{"id": "T1", "name": "Teacher One", "accounts": [{"homePage": W, "name": "9"}]}],
        "classes": [],
        "assignments": [],
        "episodes": [],
    }


def klass(ident: str, start: datetime, minutes: int = 90, mode: str = "synchronous", **extra: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "group": "G1",
        "teacher": "T1",
        "discipline": "EM1",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=minutes)).isoformat(),
        "mode": mode,
        **{"activity": ROOM_IRI, **extra},
    }


def catalogue(data: dict[str, Any]) -> Catalogue:
    model = Catalogue.model_validate(copy.deepcopy(data))
    check_catalogue(model)
    return model


def compute(
    data: dict[str, Any], statements: list[dict[str, Any]], since: datetime, until: datetime
) -> CollegeIndicators:
    """The college's indicators from statements in hand (the offline path the verifier also takes)."""
    index = CatalogueIndex(catalogue(data))
    facts = facts_from_statements(statements, COLLEGE)
    return college_indicators(index, facts, Period(int(since.timestamp()), int(until.timestamp())))


def with_id(statement: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), **statement}


def attended(learner: int, activity: str, when: datetime, completion: bool, late: bool | None = None) -> dict[str, Any]:
    """The Jisc attendance recipe."""
    result: dict[str, Any] = {"completion": completion}
    if late is not None:
        result["extensions"] = {"http://xapi.jisc.ac.uk/attendance_late": late}
    return with_id(
        {
            "actor": SITE.actor(user(learner)),
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en": "attended"}},
            "object": {"id": activity},  # the recipe's class event: no meeting type
            "result": result,
            "timestamp": when.isoformat(),
        }
    )


def virtual_classroom(verb: str, name: str, registration: str, when: datetime) -> dict[str, Any]:
    """BigBlueButton's own xAPI (virtual-classroom profile): the person known by display name only."""
    return with_id(
        {
            "actor": {"name": name, "account": {"homePage": "https://bbb.example.kz", "name": "w_abc"}},
            "verb": {"id": f"http://activitystrea.ms/{verb}"},
            "object": {
                "id": "https://bbb.example.kz/rooms/em1",
                "definition": {"type": "https://w3id.org/xapi/virtual-classroom/activity-types/virtual-classroom"},
            },
            "context": {"registration": registration},
            "timestamp": when.isoformat(),
        }
    )


def cmi5(verb: str, learner: int, activity: str, when: datetime, **extra: Any) -> dict[str, Any]:
    return with_id(
        {
            "actor": SITE.actor(user(learner)),
            "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}"},
            "object": {"id": activity, "definition": {"type": "https://w3id.org/xapi/cmi5/activitytype/block"}},
            "timestamp": when.isoformat(),
            **extra,
        }
    )


def proctoring(
    learner: str,
    exam: str,
    session: str,
    when: datetime,
    verdict: str | None,
    score: float = 12.5,
    college: str = COLLEGE,
) -> dict[str, Any]:
    """The platform's own statements, shaped as proctor.sessions.statements writes them and stored under the
    platform's proctoring authority (as its statement sink stores them)."""
    actor = {
        "objectType": "Agent",
        "name": learner,
        "account": {"homePage": f"{PLATFORM}/colleges/{college}", "name": learner},
    }
    target = {
        "objectType": "Activity",
        "id": f"{PLATFORM}/exams/{exam}",
        "definition": {"type": "https://proctor-kz.org/xapi/activities/proctored-exam", "name": {"en-US": "Exam"}},
    }
    extension = "https://proctor-kz.org/xapi/extensions/proctoring-result"
    if verdict is None:
        verb = "attempted"
        result: dict[str, Any] = {
            "extensions": {extension: {"suspicion_score": score, "event_counts": {}, "session": session}}
        }
    else:
        verb = "completed"
        result = {
            "success": verdict == "confirmed",
            "completion": True,
            "extensions": {extension: {"verdict": verdict, "examiner": "x@example.kz", "session": session}},
        }
    return with_id(
        {
            "actor": actor,
            "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}"},
            "object": target,
            "result": result,
            "context": {"registration": session, "platform": "proctor-kz"},
            "timestamp": when.isoformat(),
            "authority": proctoring_authority(PLATFORM),
        }
    )
