"""What real LMS statements mean to the indicators: verbs become kinds, objects become categories.

The vocabulary covers Moodle's logstore_xapi plugin before and after its 4.8 release, BigBlueButton (through
Moodle and the xAPI virtual-classroom profile), cmi5, the Jisc `attended` recipe and the platform's own
proctoring statements. A verb not listed here is `Kind.OTHER`: the statement is kept and counted, never used.
Attendance is read only from meeting / virtual-classroom objects, so Moodle's join/leave of a *group*
(`Category.GROUP`) is never attendance. A proctoring result counts only under the platform's own proctoring
authority: one sent with a college's key (an LMS could write anything) is `Kind.UNTRUSTED_PROCTORING`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import IntEnum
from typing import Any

from footprint.accounts import is_proctoring_authority

PROCTORING_RESULT = "https://proctor-kz.org/xapi/extensions/proctoring-result"
LOGIN_AS = "https://yetanalytics.com/profiles/prepositions/concepts/context-extensions/as"
JISC_LATE = "http://xapi.jisc.ac.uk/attendance_late"
ADL = "http://adlnet.gov/expapi/verbs/"
STREAMS = "http://activitystrea.ms/schema/1.0/"
EDLM = "https://xapi.edlm/profiles/edlm-lms/concepts/verbs/"
BRINDLEWAYE = "https://brindlewaye.com/xAPITerms/verbs/"


class Kind(IntEnum):
    """What a statement's verb says happened (stored as a small integer in the facts table)."""

    OTHER = 0
    """A verb outside the vocabulary: kept, counted, ignored."""
    LOGIN = 1
    LOGOUT = 2
    VIEWED = 3
    LAUNCHED = 4
    COMPLETED = 5
    UNCOMPLETED = 6
    SUBMITTED = 7
    SCORED = 8
    STARTED = 9
    ANSWERED = 10
    JOINED = 11
    LEFT = 12
    ATTENDED = 13
    INITIALIZED = 14
    TERMINATED = 15
    PASSED = 16
    FAILED = 17
    ATTEMPTED = 18
    PROCTORED = 19
    """The platform's analysed proctored session (`attempted` with the proctoring result)."""
    VERDICT = 20
    """The examiner's verdict on a proctored session (`completed` with the proctoring result)."""
    LOGIN_AS = 21
    """An administrator logged in as someone else: the login of neither."""
    VOIDED = 22
    CMI5_SESSION = 23
    """Other cmi5 verbs (abandoned, waived, satisfied): known, not used."""
    UNTRUSTED_PROCTORING = 24
    """A proctoring result (analysed session or verdict) that the platform's proctoring did not write: kept,
    counted, ignored."""


class Category(IntEnum):
    """What kind of thing a statement's object is."""

    OTHER = 0
    MEETING = 1
    """A BigBlueButton meeting or a virtual classroom: the only objects attendance is read from."""
    COURSE = 2
    MODULE = 3
    """A course module (page, resource, book, quiz, assignment …): a material or an activity."""
    ATTEMPT = 4
    """A quiz attempt (normalised to its quiz)."""
    SITE = 5
    GROUP = 6
    EXAM = 7
    """A proctored exam of this platform (object id normalised to `exam:ID`)."""


VERBS: dict[str, Kind] = {
    EDLM + "login": Kind.LOGIN,
    BRINDLEWAYE + "loggedin/": Kind.LOGIN,
    "https://w3id.org/xapi/adl/verbs/logged-in": Kind.LOGIN,
    EDLM + "logout": Kind.LOGOUT,
    BRINDLEWAYE + "loggedout/": Kind.LOGOUT,
    "https://w3id.org/xapi/adl/verbs/logged-out": Kind.LOGOUT,
    "http://id.tincanapi.com/verb/viewed": Kind.VIEWED,
    ADL + "experienced": Kind.VIEWED,
    ADL + "launched": Kind.LAUNCHED,
    ADL + "completed": Kind.COMPLETED,
    EDLM + "uncompleted": Kind.UNCOMPLETED,
    STREAMS + "submit": Kind.SUBMITTED,
    "https://w3id.org/xapi/tla/verbs/scored": Kind.SCORED,
    ADL + "scored": Kind.SCORED,
    STREAMS + "start": Kind.STARTED,
    ADL + "answered": Kind.ANSWERED,
    STREAMS + "join": Kind.JOINED,
    "http://activitystrea.ms/join": Kind.JOINED,
    STREAMS + "leave": Kind.LEFT,
    "http://activitystrea.ms/leave": Kind.LEFT,
    ADL + "attended": Kind.ATTENDED,
    ADL + "initialized": Kind.INITIALIZED,
    ADL + "terminated": Kind.TERMINATED,
    ADL + "passed": Kind.PASSED,
    ADL + "failed": Kind.FAILED,
    ADL + "attempted": Kind.ATTEMPTED,
    ADL + "voided": Kind.VOIDED,
    "https://w3id.org/xapi/adl/verbs/abandoned": Kind.CMI5_SESSION,
    "https://w3id.org/xapi/adl/verbs/waived": Kind.CMI5_SESSION,
    "https://w3id.org/xapi/adl/verbs/satisfied": Kind.CMI5_SESSION,
}

MEETING_TYPES = frozenset(
    {
        "http://adlnet.gov/expapi/activities/meeting",
        "https://w3id.org/xapi/virtual-classroom/activity-types/virtual-classroom",
    }
)
COURSE_TYPES = frozenset(
    {
        "https://w3id.org/xapi/cmi5/activitytype/course",
        "http://id.tincanapi.com/activitytype/lms/course",
        "http://adlnet.gov/expapi/activities/course",
    }
)
GROUP_TYPES = frozenset(
    {
        "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/group",
        "http://activitystrea.ms/schema/1.0/group",
        "http://id.tincanapi.com/activitytype/group",
    }
)
ATTEMPT_TYPE = "http://adlnet.gov/expapi/activities/attempt"
SITE_TYPES = frozenset({"http://id.tincanapi.com/activitytype/lms", "http://id.tincanapi.com/activitytype/source"})
COURSE_URL = re.compile(r"/course/view\.php\?id=\d+$")
QUIZ_ATTEMPT_URL = re.compile(r"^(?P<site>.*)/mod/quiz/attempt\.php\?(?:.*&)?cmid=(?P<cmid>\d+)(?:&.*)?$")
BBB_URL = re.compile(r"/mod/bigbluebuttonbn/view\.php\?id=\d+")
EXAM_URL = re.compile(r"/exams/(?P<exam>[0-9a-fA-F-]{36})$")


def kind_of_verb(verb_id: str) -> Kind:
    """The kind of a verb IRI (OTHER when the vocabulary does not know it)."""
    return VERBS.get(verb_id, Kind.OTHER)


def _type(activity: Mapping[str, Any]) -> str:
    definition = activity.get("definition")
    return str(definition.get("type", "")) if isinstance(definition, Mapping) else ""


def module_id(activity_id: str) -> str:
    """The module an object stands for: `#submission` / `#sco` fragments dropped, a quiz attempt → its quiz."""
    base = activity_id.split("#", 1)[0]
    attempt = QUIZ_ATTEMPT_URL.match(base)
    if attempt is not None:
        return f"{attempt.group('site')}/mod/quiz/view.php?id={attempt.group('cmid')}"
    return base


def is_course(activity: Mapping[str, Any]) -> bool:
    return _type(activity) in COURSE_TYPES or bool(COURSE_URL.search(str(activity.get("id", ""))))


def course_of(statement: Mapping[str, Any]) -> str | None:
    """The course of a statement: the object when it is a course, else the course entry of
    `contextActivities.parent` (current plugin) or `grouping` (before 4.8)."""
    target = statement.get("object", {})
    if target.get("objectType", "Activity") == "Activity" and is_course(target):
        return str(target["id"])
    activities = statement.get("context", {}).get("contextActivities", {})
    for key in ("parent", "grouping"):
        entries = activities.get(key, [])
        for entry in entries if isinstance(entries, list) else [entries]:
            if isinstance(entry, Mapping) and is_course(entry):
                return str(entry["id"])
    return None


def category_of(target: Mapping[str, Any], kind: Kind) -> Category:
    """The category of an Activity object."""
    activity_id = str(target.get("id", ""))
    activity_type = _type(target)
    if kind in (Kind.PROCTORED, Kind.VERDICT, Kind.UNTRUSTED_PROCTORING):
        return Category.EXAM
    if activity_type in MEETING_TYPES or BBB_URL.search(activity_id):
        return Category.MEETING
    if activity_type in GROUP_TYPES or "/group/index.php" in activity_id:
        return Category.GROUP
    if is_course(target):
        return Category.COURSE
    if activity_type == ATTEMPT_TYPE or QUIZ_ATTEMPT_URL.match(activity_id.split("#", 1)[0]):
        return Category.ATTEMPT
    if activity_type in SITE_TYPES:
        return Category.SITE
    if "/mod/" in activity_id or activity_type:
        return Category.MODULE
    return Category.OTHER


def proctoring_result(statement: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The platform's proctoring result extension, when the statement carries one."""
    extensions = statement.get("result", {}).get("extensions", {})
    found = extensions.get(PROCTORING_RESULT) if isinstance(extensions, Mapping) else None
    return found if isinstance(found, Mapping) else None


def statement_kind(statement: Mapping[str, Any]) -> Kind:
    """The kind of a statement: its verb's, refined by what only the whole statement tells."""
    kind = kind_of_verb(str(statement["verb"]["id"]))
    result = proctoring_result(statement)
    ours = is_proctoring_authority(statement.get("authority"))
    if result is not None and kind == Kind.ATTEMPTED:
        return Kind.PROCTORED if ours else Kind.UNTRUSTED_PROCTORING
    if result is not None and kind == Kind.COMPLETED and "verdict" in result:
        return Kind.VERDICT if ours else Kind.UNTRUSTED_PROCTORING
    if kind == Kind.LOGIN:
        extensions = statement.get("context", {}).get("extensions", {})
        if isinstance(extensions, Mapping) and LOGIN_AS in extensions:
            return Kind.LOGIN_AS
    return kind


def exam_id(activity_id: str) -> str | None:
    """The exam id of a proctored-exam activity IRI (`…/exams/ID`)."""
    match = EXAM_URL.search(activity_id)
    return match.group("exam").lower() if match else None
