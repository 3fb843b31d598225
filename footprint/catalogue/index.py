"""A catalogue resolved for computing: lookups by id, classes by group, courses and exams to disciplines,
and the terms (agent keys, aliases) under which a person's statements are stored."""

from __future__ import annotations

import dataclasses
import functools
import heapq
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from footprint.catalogue.checks import account_key
from footprint.catalogue.model import (
    Assignment,
    Catalogue,
    ClassSession,
    Discipline,
    Episode,
    Group,
    Learner,
    Person,
    Programme,
    Teacher,
)
from footprint.facts.project import display_name
from footprint.vocabulary import module_id

ACADEMIC_HOUR_MIN = 45


def exact(value: float) -> Fraction:
    """A number as the decimal it was written as (1.5 → 3/2, 0.1 → 1/10), for shares compared with limits."""
    return Fraction(Decimal(str(value)))


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


@dataclass(frozen=True)
class ClassInfo:
    """A class of the timetable with what computations need beside it."""

    session: ClassSession
    programme: Programme
    discipline: Discipline
    start: int
    end: int
    hours: Fraction
    previous_end: int | None = None
    """When the latest earlier class on the same virtual class ended (whose join a missing leave belongs to)."""

    @property
    def id(self) -> str:
        return self.session.id


@dataclass(frozen=True)
class PersonTerms:
    """The terms a person's statements carry: actor agent keys and meeting display names."""

    actors: tuple[str, ...]
    aliases: tuple[str, ...]


def person_terms(person: Person, learner: bool) -> PersonTerms:
    actors = [account_key(account) for account in person.accounts]
    if learner:
        actors.append(f"learner:{person.id}")  # the platform's own proctoring statements name the learner so
    return PersonTerms(tuple(actors), tuple(display_name(alias) for alias in person.aliases))


def _with_previous_ends(classes: list[ClassInfo]) -> list[ClassInfo]:
    """Classes (sorted by start) with the end of the latest earlier class on the same virtual class."""
    running: dict[str, list[int]] = defaultdict(list)  # per room, a heap of the ends still to come
    ended: dict[str, int] = {}
    found = []
    for info in classes:
        if info.session.activity is None:
            found.append(info)
            continue
        room = module_id(info.session.activity)
        heap = running[room]
        while heap and heap[0] <= info.start:  # starts only grow: an end passed stays passed
            ended[room] = max(ended.get(room, 0), heapq.heappop(heap))
        found.append(dataclasses.replace(info, previous_end=ended[room]) if room in ended else info)
        heapq.heappush(heap, info.end)
    return found


class CatalogueIndex:
    """Lookups over one catalogue version (built once per computation)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.zone = zoneinfo.ZoneInfo(catalogue.timezone)
        self.programmes: dict[str, Programme] = {p.id: p for p in catalogue.programmes}
        self.disciplines: dict[tuple[str, str], Discipline] = {
            (p.id, d.code): d for p in catalogue.programmes for d in p.disciplines
        }
        self.groups: dict[str, Group] = {g.id: g for g in catalogue.groups}
        self.learners: dict[str, Learner] = {p.id: p for p in catalogue.learners}
        self.teachers: dict[str, Teacher] = {p.id: p for p in catalogue.teachers}
        self.learners_by_group: dict[str, list[Learner]] = defaultdict(list)
        for learner in catalogue.learners:
            self.learners_by_group[learner.group].append(learner)
        self.groups_by_programme: dict[str, list[Group]] = defaultdict(list)
        for group in catalogue.groups:
            self.groups_by_programme[group.programme].append(group)
        self.classes: list[ClassInfo] = _with_previous_ends(
            sorted((self._class_info(c) for c in catalogue.classes), key=lambda c: (c.start, c.id))
        )
        self.classes_by_group: dict[str, list[ClassInfo]] = defaultdict(list)
        self.classes_by_teacher: dict[str, list[ClassInfo]] = defaultdict(list)
        for info in self.classes:
            self.classes_by_group[info.session.group].append(info)
            self.classes_by_teacher[info.session.teacher].append(info)
        self.courses: dict[tuple[str, str], str] = {}
        """(programme, course IRI) → discipline code."""
        self.exams: dict[tuple[str, str], str] = {}
        """(programme, `exam:ID`) → discipline code."""
        for programme in catalogue.programmes:
            for discipline in programme.disciplines:
                if discipline.course:
                    self.courses[(programme.id, discipline.course)] = discipline.code
                for exam in discipline.exams:
                    self.exams[(programme.id, f"exam:{exam.lower()}")] = discipline.code

    def _class_info(self, session: ClassSession) -> ClassInfo:
        programme = self.programmes[self.groups[session.group].programme]
        discipline = self.disciplines[(programme.id, session.discipline)]
        start, end = epoch(session.start), epoch(session.end)
        hours = exact(session.hours) if session.hours is not None else Fraction(end - start, 60 * ACADEMIC_HOUR_MIN)
        return ClassInfo(session, programme, discipline, start, end, hours)

    def programme_of_group(self, group_id: str) -> Programme:
        return self.programmes[self.groups[group_id].programme]

    def programme_of(self, learner: Learner) -> Programme:
        return self.programme_of_group(learner.group)

    def assignments_for(self, group_id: str) -> list[Assignment]:
        """The assignments a group's learners must hand in (the programme's, unless restricted to groups)."""
        programme = self.groups[group_id].programme
        return [
            task
            for task in self.catalogue.assignments
            if task.programme == programme and (not task.groups or group_id in task.groups)
        ]

    def episodes_for_learner(self, learner: Learner) -> list[Episode]:
        return [e for e in self.catalogue.episodes if e.learner == learner.id or e.group == learner.group]

    @functools.cached_property
    def learner_terms(self) -> dict[str, PersonTerms]:
        return {learner.id: person_terms(learner, True) for learner in self.catalogue.learners}

    @functools.cached_property
    def teacher_terms(self) -> dict[str, PersonTerms]:
        return {teacher.id: person_terms(teacher, False) for teacher in self.catalogue.teachers}
