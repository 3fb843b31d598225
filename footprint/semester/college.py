"""Building the generated college: Moodle courses and modules, groups and people, the timetable, the approved
lists, assignments and the distance episodes (with the deliberate breaches the plan describes)."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

from footprint.catalogue.model import Catalogue
from footprint.semester.moodle import Course, Module, User
from footprint.semester.plan import PROGRAMMES, SLOTS, ZONE, College, CourseInfo, ProgrammeSpec, SemesterPlan

NAMESPACE = uuid.UUID("5d0c2f5e-7b1a-4f6e-8a3d-9c2b1e0f4a7d")
FIRST = (
    "Айгерім",
    "Нұрлан",
    "Дана",
    "Ерлан",
    "Мадина",
    "Арман",
    "Әсел",
    "Тимур",
    "Жанар",
    "Бауыржан",
    "Ольга",
    "Дмитрий",
)
LAST = ("Сейтқали", "Ахметов", "Жұмабаева", "Оспанов", "Қасымова", "Ильин", "Нұрланова", "Ким", "Бекова", "Петрова")
CLASS_MINUTES = 90
ALIAS_EVERY = 10
"""Every tenth learner of the online programme joins classes from BigBlueButton's own xAPI, by display name."""


def person_name(number: int) -> str:
    return f"{FIRST[number % len(FIRST)]} {LAST[(number // len(FIRST)) % len(LAST)]}"


def group_programmes(plan: SemesterPlan) -> list[ProgrammeSpec]:
    """Programme of each group, in proportion to the programmes' shares (largest remainder)."""
    count = max(len(PROGRAMMES), -(-plan.learners // plan.group_size))
    raw = [p.share * count for p in PROGRAMMES]
    sizes = [max(1, int(r)) for r in raw]
    while sum(sizes) < count:
        sizes[max(range(len(raw)), key=lambda i: raw[i] - sizes[i])] += 1
    while sum(sizes) > count:
        sizes[sizes.index(max(sizes))] -= 1
    return [p for p, n in zip(PROGRAMMES, sizes, strict=True) for _ in range(n)]


def _courses(
    plan: SemesterPlan, users: dict[str, User]
) -> tuple[dict[tuple[str, str], CourseInfo], list[dict[str, Any]], list[dict[str, Any]]]:
    w = plan.moodle_url
    courses: dict[tuple[str, str], CourseInfo] = {}
    programmes: list[dict[str, Any]] = []
    teachers: list[dict[str, Any]] = []
    cmid = 100
    tasks_per = plan.weeks // 2
    for number, spec in enumerate(PROGRAMMES):
        disciplines = []
        for position, d in enumerate(spec.disciplines):
            teacher_id = f"T-{d.code}"
            users[teacher_id] = User(9000 + len(teachers), person_name(len(teachers) + 7))
            teachers.append(
                {
                    "id": teacher_id,
                    "name": users[teacher_id].full_name,
                    "accounts": [{"homePage": w, "name": str(users[teacher_id].id)}],
                }
            )
            materials = tuple(
                Module("page" if i % 3 else "resource", cmid + i, f"{d.name}: topic {i + 1}") for i in range(8)
            )
            graded = not d.practice and bool(d.weekly)
            tasks = tuple(
                (
                    f"{d.code}-A{n + 1}",
                    Module("assign", cmid + 11 + n, f"{d.name}: assignment {n + 1}"),
                    datetime.combine(plan.start + timedelta(weeks=2 * n + 1, days=4), time(23, 59), ZONE),
                )
                for n in range(tasks_per if graded else 0)
            )
            exam = str(uuid.uuid5(NAMESPACE, f"{spec.id}/{d.code}/exam"))
            courses[(spec.id, d.code)] = CourseInfo(
                spec.id,
                d.code,
                Course(10 * number + position + 2, d.name, section=position + 1),
                materials,
                Module("quiz", cmid + 8, f"{d.name}: test"),
                Module("bigbluebuttonbn", cmid + 9, f"{d.name}: class"),
                Module("forum", cmid + 10, f"{d.name}: forum"),
                tasks,
                exam,
                teacher_id,
            )
            cmid += 11 + tasks_per
            discipline: dict[str, Any] = {
                "code": d.code,
                "name": d.name,
                "practice": d.practice,
                "course": f"{w}/course/view.php?id={courses[(spec.id, d.code)].course.id}",
                "materials": [f"{w}/mod/{m.kind}/view.php?id={m.cmid}" for m in materials],
                "exams": [exam] if graded else [],
            }
            if spec.level == "tvet":  # the semester's working curriculum: what its weeks of timetable hold
                discipline["hours"] = len(d.weekly) * plan.weeks * CLASS_MINUTES // 45 if d.weekly else d.size
            else:
                discipline.update(credits=d.size, distance_credits=d.distance_credits, recognition=d.recognition)
            disciplines.append(discipline)
        programmes.append(
            {
                "id": spec.id,
                "name": spec.name,
                "level": spec.level,
                "form": spec.form,
                "field": spec.field,
                "disciplines": disciplines,
            }
        )
    return courses, programmes, teachers


def _mode(spec: ProgrammeSpec, code: str, planned: str, week: int, breach: bool) -> str:
    if breach and spec.id == "ELEC" and code == "EL02":
        return "synchronous"
    if breach and spec.id == "ELEC" and code == "EL04":
        return "asynchronous"
    if breach and spec.id == "PED" and code == "PD03" and week == 2:
        return "asynchronous"
    return planned


def build_college(plan: SemesterPlan) -> College:
    """The catalogue and the Moodle side of the semester (the same for the same plan)."""
    users: dict[str, User] = {}
    courses, programmes, teachers = _courses(plan, users)
    college = College(plan, Catalogue(), courses, users)
    weather = plan.start + timedelta(weeks=min(5, plan.weeks - 1), days=2)
    college.weather_day = weather
    kinds = group_programmes(plan)
    counts = {spec.id: kinds.count(spec) for spec in PROGRAMMES}
    seen: dict[str, int] = {}
    groups: list[dict[str, Any]] = []
    learners: list[dict[str, Any]] = []
    classes: list[dict[str, Any]] = []
    episodes: list[dict[str, Any]] = []
    for index, spec in enumerate(kinds):
        seen[spec.id] = seen.get(spec.id, 0) + 1
        group = f"{spec.id}-{seen[spec.id]}"
        breach = counts[spec.id] >= 2 and seen[spec.id] == counts[spec.id] and spec.level == "tvet"
        if breach:
            college.breaches[group] = {
                "ELEC": "distance classes outside the approved list, distance share over 20 %, an unproven episode",
                "PED": "an asynchronous class in a pedagogy programme",
                "SOFT": "synchronous classes mostly not held: synchronous share under 30 %",
            }[spec.id]
        groups.append({"id": group, "programme": spec.id, "name": f"{spec.name} {seen[spec.id]}"})
        members = []
        size = plan.learners // len(kinds) + (1 if index < plan.learners % len(kinds) else 0)
        for seat in range(size):
            number = len(learners)
            learner_id = f"S{number + 1:04d}"
            users[learner_id] = User(1000 + number, person_name(number))
            item: dict[str, Any] = {
                "id": learner_id,
                "name": users[learner_id].full_name,
                "group": group,
                "accounts": [{"homePage": plan.moodle_url, "name": str(users[learner_id].id)}],
            }
            if spec.id == "SOFT" and seat % ALIAS_EVERY == ALIAS_EVERY - 1:
                item["aliases"] = [f"{users[learner_id].full_name} ({learner_id})"]  # names repeat; aliases may not
            learners.append(item)
            members.append(learner_id)
        for week in range(plan.weeks):
            for position, d in enumerate(spec.disciplines):
                info = courses[(spec.id, d.code)]
                for k, planned in enumerate(d.weekly):
                    day = plan.start + timedelta(weeks=week, days=(position + k + index) % 5)
                    start = datetime.combine(day, SLOTS[(position + 2 * k) % len(SLOTS)], ZONE)
                    class_id = f"{group}-{d.code}-w{week + 1}-{k + 1}"
                    mode = _mode(spec, d.code, planned, week, breach)
                    entry: dict[str, Any] = {
                        "id": class_id,
                        "group": group,
                        "teacher": info.teacher,
                        "discipline": d.code,
                        "start": start.isoformat(),
                        "end": (start + timedelta(minutes=CLASS_MINUTES)).isoformat(),
                        "mode": mode,
                        "activity": f"{plan.moodle_url}/mod/bigbluebuttonbn/view.php?id={info.room.cmid}",
                    }
                    if spec.id == "SOFT" and mode == "synchronous":
                        entry["registration"] = str(uuid.uuid5(NAMESPACE, class_id))
                    if day == weather and spec.id in ("ELEC", "PED") and mode == "in_person":
                        entry["assignments"] = [t[0] for t in info.assignments if t[2].date() >= day][:1]
                    classes.append(entry)
        if spec.id in ("ELEC", "PED") and plan.weeks > 5:
            episodes.append(
                {
                    "id": f"W-{group}",
                    "ground": "weather",
                    "group": group,
                    "start": datetime.combine(weather, time(0, 0), ZONE).isoformat(),
                    "end": datetime.combine(weather, time(23, 59), ZONE).isoformat(),
                    "documents": [{"kind": "head_order", "number": "112-Ө", "date": weather.isoformat()}],
                    "approver": "Директор Б. Оспанов",
                    "shift": 1,
                }
            )
        episodes += _personal(plan, spec, group, members, breach)
    catalogue = {
        "timezone": "Asia/Almaty",
        "programmes": programmes,
        "groups": groups,
        "learners": learners,
        "teachers": teachers,
        "approved_lists": [
            {
                "order": {
                    "kind": "head_order",
                    "number": f"4{n}-Ө",
                    "date": (plan.start - timedelta(days=13)).isoformat(),
                },
                "programme": spec.id,
                "disciplines": list(spec.approved),
            }
            for n, spec in enumerate(PROGRAMMES)
            if spec.approved
        ],
        "classes": classes,
        "assignments": [
            {
                "id": task,
                "programme": info.programme,
                "discipline": info.code,
                "activity": f"{plan.moodle_url}/mod/assign/view.php?id={module.cmid}",
                "due": due.isoformat(),
            }
            for info in courses.values()
            for task, module, due in info.assignments
        ],
        "episodes": episodes,
    }
    college.catalogue = Catalogue.model_validate(catalogue)
    return college


def _personal(
    plan: SemesterPlan, spec: ProgrammeSpec, group: str, members: list[str], breach: bool
) -> list[dict[str, Any]]:
    """The medical and competition episodes of the first electrical group, and the breach group's
    parents' episode that lacks the council's decision."""

    def span(first_week: int, days: int) -> dict[str, str]:
        start = datetime.combine(plan.start + timedelta(weeks=first_week), time(0, 0), ZONE)
        return {"start": start.isoformat(), "end": (start + timedelta(days=days)).isoformat()}

    found: list[dict[str, Any]] = []
    if spec.id == "ELEC" and group == "ELEC-1" and len(members) >= 3 and plan.weeks > 9:
        found.append(
            {
                "id": f"M-{members[1]}",
                "ground": "medical",
                "learner": members[1],
                **span(2, 21),
                "documents": [
                    {
                        "kind": "commission_conclusion",
                        "number": "ВКК-17",
                        "date": (plan.start + timedelta(weeks=2)).isoformat(),
                    }
                ],
                "approver": "Директордың орынбасары Д. Ким",
            }
        )
        found.append(
            {
                "id": f"C-{members[2]}",
                "ground": "competition",
                "learner": members[2],
                **span(8, 3),
                "documents": [
                    {
                        "kind": "authority_letter",
                        "number": "12-03/417",
                        "date": (plan.start + timedelta(weeks=7)).isoformat(),
                    },
                    {
                        "kind": "learner_application",
                        "number": "б/н",
                        "date": (plan.start + timedelta(weeks=7, days=1)).isoformat(),
                    },
                ],
                "approver": "Директор Б. Оспанов",
            }
        )
    if breach and spec.id == "ELEC" and plan.weeks > 10:
        found.append(
            {
                "id": f"P-{members[0]}",
                "ground": "parents",
                "learner": members[0],
                **span(9, 10),
                "documents": [
                    {
                        "kind": "parents_application",
                        "number": "б/н",
                        "date": (plan.start + timedelta(weeks=9)).isoformat(),
                    }
                ],
                "approver": "Директор Б. Оспанов",
            }
        )
    return found
