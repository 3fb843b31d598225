"""Statements shaped exactly as Moodle's logstore_xapi plugin sends them (its 4.8+ vocabulary, or the one
before 4.8 with `old=True`), as read in the plugin's own test fixtures (`tests/**/statements.json`), plus
the `timestamp` the plugin adds (the fixtures strip it) and deterministic ids so re-sending is idempotent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

NAMESPACE = uuid.UUID("2f6c4b5e-8d1a-4c3e-9b7f-0a1b2c3d4e5f")
INFO = "http://lrs.learninglocker.net/define/extensions/info"
LMS = "http://id.tincanapi.com/activitytype/lms"
NEW_TYPES = {
    "page": "https://w3id.org/xapi/acrossx/activities/page",
    "resource": "http://id.tincanapi.com/activitytype/resource",
    "url": "http://adlnet.gov/expapi/activities/link",
    "book": "http://id.tincanapi.com/activitytype/book",
    "quiz": "http://adlnet.gov/expapi/activities/assessment",
    "assign": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/assignment",
    "bigbluebuttonbn": "http://adlnet.gov/expapi/activities/meeting",
    "forum": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/forum",
}
OLD_TYPES = {**NEW_TYPES, "assign": "http://adlnet.gov/expapi/activities/assessment"}
VERBS = {
    "login": ("https://xapi.edlm/profiles/edlm-lms/concepts/verbs/login", "Logged In"),
    "login_old": ("https://brindlewaye.com/xAPITerms/verbs/loggedin/", "logged into"),
    "viewed": ("http://id.tincanapi.com/verb/viewed", "Viewed"),
    "completed": ("http://adlnet.gov/expapi/verbs/completed", "Completed"),
    "uncompleted": ("https://xapi.edlm/profiles/edlm-lms/concepts/verbs/uncompleted", "Uncompleted"),
    "submit": ("http://activitystrea.ms/schema/1.0/submit", "Submitted"),
    "scored": ("https://w3id.org/xapi/tla/verbs/scored", "Scored"),
    "scored_old": ("http://adlnet.gov/expapi/verbs/scored", "attained grade for"),
    "start": ("http://activitystrea.ms/schema/1.0/start", "Started"),
    "join": ("http://activitystrea.ms/schema/1.0/join", "Joined"),
    "leave": ("http://activitystrea.ms/schema/1.0/leave", "Left"),
    "group_join": ("http://activitystrea.ms/join", "Joined"),
    "replied": ("http://id.tincanapi.com/verb/replied", "Replied"),
}


@dataclass(frozen=True)
class Module:
    """A course module: its kind (page, quiz, assign, bigbluebuttonbn …), course-module id and name."""

    kind: str
    cmid: int
    name: str


@dataclass(frozen=True)
class Course:
    id: int
    name: str
    section: int = 1


@dataclass(frozen=True)
class User:
    id: int
    full_name: str


class MoodleSite:
    """One Moodle site's statements; `old` selects the vocabulary of plugin releases before 4.8."""

    def __init__(self, url: str, name: str, old: bool = False) -> None:
        self.url = url.rstrip("/")
        self.name = name
        self.old = old

    # -- parts -------------------------------------------------------------------------------------

    def actor(self, user: User) -> dict[str, Any]:
        return {"account": {"homePage": self.url, "name": str(user.id)}, "name": user.full_name}

    def module_id(self, module: Module) -> str:
        return f"{self.url}/mod/{module.kind}/view.php?id={module.cmid}"

    def course_id(self, course: Course) -> str:
        return f"{self.url}/course/view.php?id={course.id}"

    def _activity(self, activity_id: str, name: str, kind: str) -> dict[str, Any]:
        item: dict[str, Any] = {"id": activity_id, "definition": {"name": {"en": name}, "type": kind}}
        if not self.old:
            item["objectType"] = "Activity"
        return item

    def course_activity(self, course: Course) -> dict[str, Any]:
        kind = (
            "http://id.tincanapi.com/activitytype/lms/course"
            if self.old
            else "https://w3id.org/xapi/cmi5/activitytype/course"
        )
        return self._activity(self.course_id(course), course.name, kind)

    def module_activity(self, module: Module) -> dict[str, Any]:
        return self._activity(self.module_id(module), module.name, (OLD_TYPES if self.old else NEW_TYPES)[module.kind])

    def _context(
        self, event: str, course: Course | None, parents: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        info = {
            "event_function": f"\\src\\transformer\\events\\{event.split(chr(92))[1]}",
            "event_name": event,
            "http://moodle.org": "1.0.0",
            "https://github.com/xAPI-vle/moodle-logstore_xapi": "0.0.0-development",
        }
        if self.old:
            activities: dict[str, Any] = {
                "category": [
                    {
                        "id": "http://moodle.org",
                        "definition": {"type": "http://id.tincanapi.com/activitytype/source", "name": {"en": "Moodle"}},
                    }
                ]
            }
            if course is not None:
                activities["grouping"] = [self._activity(self.url, self.name, LMS), self.course_activity(course)]
            return {"platform": "Moodle", "language": "en", "extensions": {INFO: info}, "contextActivities": activities}
        activities = {"category": [self._activity(self.url, self.name, LMS)]}
        if course is not None:
            section = self._activity(
                f"{self.url}/course/section.php?id={course.section}",
                f"{course.name} Section {course.section}",
                "http://id.tincanapi.com/activitytype/section",
            )
            activities["parent"] = [*(parents or []), section, self.course_activity(course)]
        return {"contextActivities": activities, "extensions": {INFO: info}, "language": "en"}

    def _statement(
        self,
        key: str,
        user: User,
        verb: str,
        target: dict[str, Any],
        context: dict[str, Any],
        at: datetime,
        **extra: Any,
    ) -> dict[str, Any]:
        verb_id, display = VERBS[verb]
        return {
            "id": str(uuid.uuid5(NAMESPACE, f"{self.url}|{key}")),
            "actor": self.actor(user),
            "verb": {"id": verb_id, "display": {"en": display}},
            "object": target,
            "context": context,
            "timestamp": at.isoformat(),
            **extra,
        }

    # -- events ------------------------------------------------------------------------------------

    def logged_in(self, user: User, at: datetime) -> dict[str, Any]:
        context = self._context("\\core\\event\\user_loggedin", None)
        if not self.old:  # the 4.8+ login names no context activities at all
            del context["contextActivities"]
        verb = "login_old" if self.old else "login"
        target = self._activity(self.url, self.name, LMS)
        return self._statement(f"login|{user.id}|{at.isoformat()}", user, verb, target, context, at)

    def course_viewed(self, user: User, course: Course, at: datetime) -> dict[str, Any]:
        context = self._context("\\core\\event\\course_viewed", None)
        if self.old:
            context["contextActivities"]["grouping"] = [self._activity(self.url, self.name, LMS)]
        return self._statement(
            f"course|{user.id}|{course.id}|{at.isoformat()}", user, "viewed", self.course_activity(course), context, at
        )

    def module_viewed(self, user: User, course: Course, module: Module, at: datetime) -> dict[str, Any]:
        context = self._context(f"\\mod_{module.kind}\\event\\course_module_viewed", course)
        return self._statement(
            f"view|{user.id}|{module.cmid}|{at.isoformat()}", user, "viewed", self.module_activity(module), context, at
        )

    def module_completed(
        self, user: User, course: Course, module: Module, at: datetime, done: bool = True
    ) -> dict[str, Any]:
        context = self._context("\\core\\event\\course_module_completion_updated", course)
        target = self.module_activity(module)
        if self.old:
            target["definition"]["type"] = "http://id.tincanapi.com/activitytype/lms/module"
        extra = {"result": {"completion": True, "success": True}} if done and not self.old else {}
        verb = "completed" if done else "uncompleted"
        return self._statement(
            f"{verb}|{user.id}|{module.cmid}|{at.isoformat()}", user, verb, target, context, at, **extra
        )

    def _submission(self, assign: Module) -> dict[str, Any]:
        if self.old:
            return self.module_activity(assign)
        return self._activity(
            f"{self.module_id(assign)}#submission",
            f"{assign.name} Submission",
            "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/submission",
        )

    def submitted(self, user: User, course: Course, assign: Module, at: datetime) -> dict[str, Any]:
        parents = [] if self.old else [self.module_activity(assign)]
        context = self._context("\\mod_assign\\event\\assessable_submitted", course, parents)
        return self._statement(
            f"submit|{user.id}|{assign.cmid}|{at.isoformat()}", user, "submit", self._submission(assign), context, at
        )

    def graded(
        self,
        user: User,
        grader: User,
        course: Course,
        assign: Module,
        raw: float,
        high: float,
        at: datetime,
        comment: str = "",
    ) -> dict[str, Any]:
        parents = [] if self.old else [self.module_activity(assign)]
        context = self._context("\\mod_assign\\event\\submission_graded", course, parents)
        context["instructor"] = self.actor(grader)
        scaled = raw / high if self.old else (raw / high) * 2 - 1  # what the plugin sends; never read
        result: dict[str, Any] = {
            "score": {"raw": raw, "min": 0.0, "max": high, "scaled": round(scaled, 4)},
            "success": raw >= high / 2,
        }
        if self.old:
            result["completion"] = True
        if comment:
            result["response"] = comment
        return self._statement(
            f"graded|{user.id}|{assign.cmid}|{at.isoformat()}",
            user,
            "scored_old" if self.old else "scored",
            self._submission(assign),
            context,
            at,
            result=result,
        )

    def _attempt(self, quiz: Module, attempt: int) -> dict[str, Any]:
        return self._activity(
            f"{self.url}/mod/quiz/attempt.php?attempt={attempt}&cmid={quiz.cmid}",
            f"{quiz.name} Attempt {attempt}",
            "http://adlnet.gov/expapi/activities/attempt",
        )

    def quiz_started(self, user: User, course: Course, quiz: Module, attempt: int, at: datetime) -> dict[str, Any]:
        return self._quiz("start", user, course, quiz, attempt, at, {})

    def quiz_submitted(
        self,
        user: User,
        course: Course,
        quiz: Module,
        attempt: int,
        raw: float,
        high: float,
        at: datetime,
        seconds: int,
    ) -> dict[str, Any]:
        scaled = raw / high if self.old else (raw / high) * 2 - 1
        result = {
            "score": {"raw": raw, "min": 0, "max": high, "scaled": round(scaled, 4)},
            "completion": True,
            "success": raw >= high / 2,
            "duration": f"PT{seconds}S",
        }
        return self._quiz("completed", user, course, quiz, attempt, at, {"result": result})

    def _quiz(
        self, verb: str, user: User, course: Course, quiz: Module, attempt: int, at: datetime, extra: dict[str, Any]
    ) -> dict[str, Any]:
        event = "\\mod_quiz\\event\\attempt_started" if verb == "start" else "\\mod_quiz\\event\\attempt_submitted"
        if self.old:
            context = self._context(event, course)
            context["contextActivities"]["other"] = [
                {
                    "id": self._attempt(quiz, attempt)["id"],
                    "definition": {"type": "http://adlnet.gov/expapi/activities/attempt", "name": {"en": "Attempt"}},
                }
            ]
            target = self.module_activity(quiz)
        else:
            context = self._context(event, course, [self.module_activity(quiz)])
            target = self._attempt(quiz, attempt)
        return self._statement(f"quiz-{verb}|{user.id}|{quiz.cmid}|{attempt}", user, verb, target, context, at, **extra)

    def meeting(self, verb: str, user: User, course: Course, meeting: Module, at: datetime) -> dict[str, Any]:
        """BigBlueButton joined (`join`) or left (`leave`), as Moodle's bigbluebuttonbn module reports it."""
        event = (
            "\\mod_bigbluebuttonbn\\event\\meeting_joined"
            if verb == "join"
            else "\\mod_bigbluebuttonbn\\event\\meeting_left"
        )
        return self._statement(
            f"bbb-{verb}|{user.id}|{meeting.cmid}|{at.isoformat()}",
            user,
            verb,
            self.module_activity(meeting),
            self._context(event, course),
            at,
        )

    def group_member_added(
        self, user: User, teacher: User, course: Course, group_id: int, at: datetime
    ) -> dict[str, Any]:
        """Moodle's join of a *group* (not a class): the same verb family, never attendance."""
        target = self._activity(
            f"{self.url}/group/index.php?id={group_id}",
            f"group {group_id}",
            "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/group",
        )
        context = self._context("\\core\\event\\group_member_added", None)
        context["contextActivities"]["parent"] = [self.course_activity(course)]
        context["instructor"] = self.actor(teacher)
        return self._statement(f"group|{user.id}|{group_id}", user, "group_join", target, context, at)

    def course_completed(self, user: User, course: Course, at: datetime) -> dict[str, Any]:
        context = self._context("\\core\\event\\course_completed", None)
        return self._statement(
            f"course-completed|{user.id}|{course.id}", user, "completed", self.course_activity(course), context, at
        )

    def forum_replied(
        self, user: User, course: Course, forum: Module, discussion: int, post: int, at: datetime
    ) -> dict[str, Any]:
        """A forum post (a verb the indicators do not use: kept and counted)."""
        base = f"{self.url}/mod/forum/discuss.php?d={discussion}"
        target = self._activity(f"{base}#p{post}", "Re: question", "http://id.tincanapi.com/activitytype/forum-reply")
        parents = [
            self._activity(base, f"discussion {discussion}", "http://id.tincanapi.com/activitytype/discussion"),
            self.module_activity(forum),
        ]
        context = self._context("\\mod_forum\\event\\post_created", course, parents)
        return self._statement(f"post|{user.id}|{post}", user, "replied", target, context, at)
