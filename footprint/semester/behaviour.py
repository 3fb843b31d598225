"""What the generated college's learners and teachers do, week by week, as the statements their systems send.

Moodle (its plugin's vocabulary before 4.8 in the first four weeks, the 4.8+ one after: the college upgrades
mid-semester), BigBlueButton through Moodle and, for a few learners, BigBlueButton's own virtual-classroom
statements naming them by display name — all sent with the college's key — and, apart, this platform's
proctored final attestations, which the platform's proctoring writes itself under its own authority. Each
learner has a diligence that shapes logins, views, attendance, submissions and scores; every draw comes from a
generator seeded by (plan seed, person, week), so a plan always yields the same statements. Some classes end
with a closed tab (no leave), some work is handed in late, and the breach groups behave as the plan says.
"""

from __future__ import annotations

import random
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from footprint.catalogue.index import CatalogueIndex, ClassInfo
from footprint.catalogue.model import Learner
from footprint.semester.moodle import MoodleSite, User
from footprint.semester.plan import ZONE, College

OLD_VOCABULARY_WEEKS = 4
QUIZ_WEEKS = (3, 7, 11)
PROCTOR_NAMESPACE = uuid.UUID("8f3c7c1e-5a4b-4f0e-9d7a-2b1c3d4e5f60")
SESSION_NAMESPACE = uuid.UUID("0b6f3a2e-1c4d-4e5f-8a9b-7c6d5e4f3a2b")
PROCTORING_RESULT = "https://proctor-kz.org/xapi/extensions/proctoring-result"
PROCTORED_EXAM = "https://proctor-kz.org/xapi/activities/proctored-exam"
VIRTUAL_CLASSROOM = "https://w3id.org/xapi/virtual-classroom/activity-types/virtual-classroom"


@dataclass(frozen=True)
class Week:
    """A week's statements, each sorted by timestamp: what the college's systems send with its key (Moodle,
    BigBlueButton), and what the platform's proctoring writes itself (analysed sessions and verdicts)."""

    lms: list[dict[str, Any]]
    platform: list[dict[str, Any]]


class Semester:
    """Generates the statements of a college's semester, one week at a time, in time order."""

    def __init__(self, college: College, college_id: str) -> None:
        self.college = college
        self.plan = college.plan
        self.college_id = college_id
        self.index = CatalogueIndex(college.catalogue)
        self.new = MoodleSite(self.plan.moodle_url, "College Moodle")
        self.old = MoodleSite(self.plan.moodle_url, "College Moodle", old=True)
        self.diligence = {
            p.id: random.Random(f"{self.plan.seed}/{p.id}").uniform(0.25, 1.0) for p in college.catalogue.learners
        }
        self.away = {e.learner: e for e in college.catalogue.episodes if e.learner and e.ground == "medical"}

    def weeks(self) -> Iterator[Week]:
        """Each week's statements, sorted by timestamp (work graded later may carry a later time)."""
        for week in range(self.plan.weeks):
            found: list[dict[str, Any]] = []
            proctored: list[dict[str, Any]] = []
            for learner in self.college.catalogue.learners:
                lms, platform = self._learner_week(learner, week)
                found += lms
                proctored += platform
            for info in self._classes(week):
                found += self._teacher_class(info, week)
            yield Week(_in_order(found), _in_order(proctored))

    # -- helpers -----------------------------------------------------------------------------------

    def _site(self, week: int) -> MoodleSite:
        return self.old if week < OLD_VOCABULARY_WEEKS else self.new

    def _day(self, week: int, day: int) -> datetime:
        return datetime.combine(self.plan.start + timedelta(weeks=week, days=day), time(0, 0), ZONE)

    def _classes(self, week: int, group: str | None = None) -> list[ClassInfo]:
        """Classes of the week held online: synchronous ones, and in-person ones a weather day moved."""
        since = self._day(week, 0).timestamp()
        until = self._day(week + 1, 0).timestamp()
        moved = {e.group for e in self.college.catalogue.episodes if e.ground == "weather"}
        weather = self.college.weather_day
        chosen = self.index.classes_by_group.get(group, []) if group else self.index.classes
        return [
            c
            for c in chosen
            if since <= c.start < until
            and (
                c.session.mode == "synchronous"
                or (
                    c.session.mode == "in_person"
                    and c.session.group in moved
                    and weather is not None
                    and datetime.fromtimestamp(c.start, ZONE).date() == weather
                )
            )
        ]

    # -- learners ----------------------------------------------------------------------------------

    def _learner_week(self, learner: Learner, week: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The learner's statements of the week sent by the college's systems, and the platform's own."""
        rng = random.Random(f"{self.plan.seed}/{learner.id}/{week}")
        d = self.diligence[learner.id]
        user = self.college.users[learner.id]
        site = self._site(week)
        programme = self.index.programme_of(learner)
        courses = [self.college.courses[(programme.id, x.code)] for x in programme.disciplines]
        out: list[dict[str, Any]] = []
        if week == 0:
            teacher = self.college.users[courses[0].teacher]
            group = 1 + zlib.crc32(learner.group.encode()) % 90
            out.append(
                self.new.group_member_added(
                    user, teacher, courses[0].course, group, self._day(0, 0) + timedelta(hours=8)
                )
            )
        for day in range(7):
            weekday = day < 5
            if rng.random() >= ((0.35 + 0.55 * d) if weekday else 0.25 * d):
                continue
            for _ in range(1 + (rng.random() < 0.3)):
                hour = rng.choice((22, 23, 0)) if rng.random() < 0.08 else rng.randint(15, 21)
                at = self._day(week, day) + timedelta(hours=hour, minutes=rng.randint(0, 59))
                out += self._session(rng, site, user, courses, at, d)
        for info in self._classes(week, learner.group):
            out += self._attend(rng, learner, user, info, week, d)
        work, proctored = self._work(rng, learner, user, courses, week, d)
        return out + work, proctored

    def _session(
        self, rng: random.Random, site: MoodleSite, user: User, courses: list[Any], at: datetime, d: float
    ) -> list[dict[str, Any]]:
        info = rng.choice(courses)
        out = [site.logged_in(user, at), site.course_viewed(user, info.course, at + timedelta(minutes=1))]
        moment = at + timedelta(minutes=2)
        for _ in range(max(1, round(self.plan.views_per_session * (0.5 + d) / 1.25))):
            material = rng.choice(info.materials)
            moment += timedelta(minutes=rng.randint(2, 9))
            out.append(site.module_viewed(user, info.course, material, moment))
            if rng.random() < 0.12 * d:
                moment += timedelta(minutes=1)
                out.append(site.module_completed(user, info.course, material, moment))
        if rng.random() < 0.1:
            post = rng.randint(1, 10**6)
            out.append(
                site.forum_replied(user, info.course, info.forum, 1 + post % 20, post, moment + timedelta(minutes=3))
            )
        return out

    def _attend(
        self, rng: random.Random, learner: Learner, user: User, info: ClassInfo, week: int, d: float
    ) -> list[dict[str, Any]]:
        episode = self.away.get(learner.id)
        if episode and episode.start.timestamp() <= info.start < episode.end.timestamp():
            return []
        if rng.random() >= 0.55 + 0.4 * d:
            return []
        start = datetime.fromtimestamp(info.start, ZONE)
        end = datetime.fromtimestamp(info.end, ZONE)
        joined = start + timedelta(minutes=rng.randint(12, 25) if rng.random() < 0.1 else rng.randint(-6, 3))
        roll = rng.random()
        left = (
            end - timedelta(minutes=30)
            if roll < 0.08
            else (None if roll > 0.8 else end + timedelta(minutes=rng.randint(0, 3)))
        )
        course = self.college.courses[(info.programme.id, info.discipline.code)]
        site = self._site(week)
        out = [site.logged_in(user, joined - timedelta(minutes=rng.randint(2, 10)))]
        if learner.aliases and info.session.registration:
            out.append(self._virtual_classroom("join", learner, info, joined))
            if left is not None:
                out.append(self._virtual_classroom("leave", learner, info, left))
            return out
        out.append(site.meeting("join", user, course.course, course.room, joined))
        if left is not None:
            out.append(site.meeting("leave", user, course.course, course.room, left))
        return out

    def _virtual_classroom(self, verb: str, learner: Learner, info: ClassInfo, at: datetime) -> dict[str, Any]:
        """BigBlueButton's own xAPI (virtual-classroom profile): the person by display name only."""
        room = f"{self.plan.bbb_url}/rooms/{info.discipline.code.lower()}"
        return {
            "id": str(uuid.uuid5(SESSION_NAMESPACE, f"bbb/{verb}/{learner.id}/{info.id}")),
            "actor": {
                "objectType": "Agent",
                "name": learner.aliases[0],
                "account": {"homePage": self.plan.bbb_url, "name": f"w_{learner.id.lower()}"},
            },
            "verb": {
                "id": f"http://activitystrea.ms/{verb}",
                "display": {"en": "joined" if verb == "join" else "left"},
            },
            "object": {
                "objectType": "Activity",
                "id": room,
                "definition": {"type": VIRTUAL_CLASSROOM, "name": {"en": info.discipline.name}},
            },
            "context": {"registration": info.session.registration, "platform": "BigBlueButton"},
            "timestamp": at.isoformat(),
        }

    def _work(
        self, rng: random.Random, learner: Learner, user: User, courses: list[Any], week: int, d: float
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        site = self._site(week)
        out: list[dict[str, Any]] = []
        proctored: list[dict[str, Any]] = []
        since, until = self._day(week, 0), self._day(week + 1, 0)
        for info in courses:
            teacher = self.college.users[info.teacher]
            for _task, module, due in info.assignments:
                if not since <= due < until:
                    continue
                roll = rng.random()
                if roll < 0.55 + 0.4 * d:
                    handed = due - timedelta(hours=rng.randint(2, 72))
                elif roll < 0.8 + 0.2 * d:
                    handed = due + timedelta(hours=rng.randint(3, 96))
                else:
                    continue
                out.append(site.submitted(user, info.course, module, handed))
                graded = handed + timedelta(hours=rng.randint(20, 120))
                raw = round(min(100.0, max(20.0, rng.gauss(45 + 50 * d, 10))))
                comment = "Well done, see the notes." if rng.random() < 0.7 else ""
                out.append(site.graded(user, teacher, info.course, module, float(raw), 100.0, graded, comment))
            if week in QUIZ_WEEKS and info.assignments:
                for attempt in range(1 + (rng.random() < 0.3)):
                    begun = self._day(week, rng.randint(0, 4)) + timedelta(hours=rng.randint(16, 20))
                    number = week * 10 + attempt + 1
                    out.append(site.quiz_started(user, info.course, info.quiz, number, begun))
                    score = float(round(min(10, max(1, rng.gauss(4 + 6 * d, 1.5)))))
                    out.append(
                        site.quiz_submitted(
                            user, info.course, info.quiz, number, score, 10.0, begun + timedelta(minutes=25), 1500
                        )
                    )
            if week == self.plan.weeks - 1 and info.assignments:
                proctored += self._attestation(rng, learner, info, week, d)
                if d > 0.6:
                    out.append(site.course_completed(user, info.course, self._day(week, 4) + timedelta(hours=18)))
        return out, proctored

    def _attestation(
        self, rng: random.Random, learner: Learner, info: Any, week: int, d: float
    ) -> list[dict[str, Any]]:
        """This platform's proctored final attestation: the analysed session and the examiner's verdict, shaped as
        the platform's proctoring writes them (`proctor/sessions/statements.py`)."""
        session = str(uuid.uuid5(SESSION_NAMESPACE, f"{learner.id}/{info.exam}"))
        actor = {
            "objectType": "Agent",
            "name": learner.name,
            "account": {"homePage": f"{self.plan.platform_url}/colleges/{self.college_id}", "name": learner.id},
        }
        target = {
            "objectType": "Activity",
            "id": f"{self.plan.platform_url}/exams/{info.exam}",
            "definition": {
                "type": PROCTORED_EXAM,
                "name": {"en-US": f"Final attestation: {info.code}"},
                "extensions": {f"{PROCTORED_EXAM}/attestation": "final"},
            },
        }
        context = {"registration": session, "platform": "proctor-kz"}
        at = self._day(week, rng.randint(0, 3)) + timedelta(hours=10)
        score = round(rng.uniform(2, 30) if rng.random() < 0.9 else rng.uniform(40, 90), 2)
        verdict = "confirmed" if d > 0.35 and rng.random() < 0.93 else rng.choice(("annulled", "retake"))
        analysed = {
            "id": str(uuid.uuid5(PROCTOR_NAMESPACE, f"{session}/analysed/0")),
            "actor": actor,
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted", "display": {"en-US": "attempted"}},
            "object": target,
            "result": {
                "duration": "PT3600.0S",
                "extensions": {PROCTORING_RESULT: {"suspicion_score": score, "event_counts": {}, "session": session}},
            },
            "context": context,
            "timestamp": (at + timedelta(hours=1, minutes=5)).isoformat(),
        }
        decided = {
            "id": str(uuid.uuid5(PROCTOR_NAMESPACE, f"{session}/verdict/0")),
            "actor": actor,
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
            "object": target,
            "result": {
                "success": verdict == "confirmed",
                "completion": True,
                "extensions": {
                    PROCTORING_RESULT: {"verdict": verdict, "examiner": "examiner@college.kz", "session": session}
                },
            },
            "context": context,
            "timestamp": (at + timedelta(days=1)).isoformat(),
        }
        return [analysed, decided]

    # -- teachers ----------------------------------------------------------------------------------

    def _teacher_class(self, info: ClassInfo, week: int) -> list[dict[str, Any]]:
        rng = random.Random(f"{self.plan.seed}/{info.id}/teacher")
        breach = info.session.group in self.college.breaches and info.programme.id == "SOFT"
        if rng.random() >= (0.1 if breach and info.discipline.code in ("SD02", "SD03") else 0.97):
            return []
        site = self._site(week)
        course = self.college.courses[(info.programme.id, info.discipline.code)]
        teacher = self.college.users[info.session.teacher]
        start = datetime.fromtimestamp(info.start, ZONE)
        joined = (
            start - timedelta(minutes=rng.randint(2, 8))
            if rng.random() < 0.9
            else start + timedelta(minutes=rng.randint(6, 15))
        )
        return [
            site.logged_in(teacher, joined - timedelta(minutes=5)),
            site.meeting("join", teacher, course.course, course.room, joined),
            site.meeting(
                "leave",
                teacher,
                course.course,
                course.room,
                datetime.fromtimestamp(info.end, ZONE) + timedelta(minutes=2),
            ),
        ]


def _in_order(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unique = {s["id"]: s for s in reversed(found)}  # two draws of one event are one statement
    return sorted(unique.values(), key=lambda s: s["timestamp"])
