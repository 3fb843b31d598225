"""The college of a generated semester: programmes (one in pedagogy, one online, one in higher education),
groups, learners and teachers with Moodle accounts, 16 weeks of timetable, assignments, proctored exams,
a weather day, medical and competition episodes — and some groups deliberately out of compliance.

Deliberate breaches (the last group of a programme with at least two groups): in electrical installation,
two distance classes a week outside the approved list (distance share ~43 %) and a parents' episode
without the council's decision; in pedagogy, one asynchronous class; in software development (online),
teachers who hold few synchronous classes (synchronous share ~20 %). `College.breaches` lists them.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time

from footprint.catalogue.model import Catalogue
from footprint.semester.moodle import Course, Module, User

ZONE = zoneinfo.ZoneInfo("Asia/Almaty")
SLOTS = (time(9, 0), time(10, 40), time(13, 0), time(14, 40), time(16, 20))


@dataclass(frozen=True)
class DisciplineSpec:
    code: str
    name: str
    size: float
    """Credits (higher education); a TVET discipline's academic hours are its weekly classes' over the semester."""
    weekly: tuple[str, ...] = ()
    """Modes of its weekly classes (each 2 academic hours, 90 minutes)."""
    practice: bool = False
    distance_credits: float = 0
    recognition: str | None = None


@dataclass(frozen=True)
class ProgrammeSpec:
    id: str
    name: str
    level: str
    form: str
    field: str
    share: float
    disciplines: tuple[DisciplineSpec, ...]
    approved: tuple[str, ...] = ()


PROGRAMMES = (
    ProgrammeSpec(
        "ELEC",
        "Electrical installation",
        "tvet",
        "full_time",
        "energy",
        0.4,
        (
            DisciplineSpec("EL01", "Electrical machines", 72, ("synchronous", "in_person")),
            DisciplineSpec("EL02", "Electrical safety", 36, ("in_person",)),
            DisciplineSpec("EL03", "Installation technology", 108, ("in_person", "in_person", "in_person")),
            DisciplineSpec("EL04", "Technical drawing", 36, ("in_person",)),
            DisciplineSpec("EL-PR", "Industrial practice", 144, ("in_person", "in_person"), practice=True),
        ),
        approved=("EL01",),
    ),
    ProgrammeSpec(
        "PED",
        "Primary education",
        "tvet",
        "full_time",
        "pedagogy",
        0.2,
        (
            DisciplineSpec("PD01", "Child psychology", 36, ("in_person",)),
            DisciplineSpec("PD02", "Teaching methods", 72, ("in_person", "in_person")),
            DisciplineSpec("PD03", "Kazakh literature", 36, ("in_person",)),
            DisciplineSpec("PD-PR", "Teaching practice", 72, ("in_person",), practice=True),
        ),
    ),
    ProgrammeSpec(
        "SOFT",
        "Software development",
        "tvet",
        "online",
        "it",
        0.3,
        (
            DisciplineSpec("SD01", "Programming", 72, ("synchronous", "asynchronous")),
            DisciplineSpec("SD02", "Databases", 72, ("synchronous", "asynchronous")),
            DisciplineSpec("SD03", "Web development", 72, ("synchronous", "asynchronous")),
            DisciplineSpec("SD04", "Professional English", 36, ("asynchronous",)),
        ),
        approved=("SD01", "SD02", "SD03", "SD04"),
    ),
    ProgrammeSpec(
        "CS",
        "Computer science (bachelor)",
        "higher",
        "full_time",
        "it",
        0.1,
        (
            DisciplineSpec("CS101", "Algorithms", 6, ("synchronous", "in_person"), distance_credits=3),
            DisciplineSpec("CS102", "Operating systems", 5, ("in_person",), distance_credits=2),
            DisciplineSpec("CS103", "Discrete mathematics", 5, ("synchronous",)),
            DisciplineSpec("CS104", "Exchange semester course", 5, recognition="exchange"),
            DisciplineSpec("CS105", "MOOC: machine learning", 4, distance_credits=4, recognition="non_formal"),
        ),
    ),
)


@dataclass(frozen=True)
class SemesterPlan:
    """How big a semester to generate (500 learners ≈ 1 M statements) and from which seed."""

    learners: int = 500
    group_size: int = 25
    weeks: int = 16
    start: date = date(2026, 9, 7)
    """A Monday."""
    seed: int = 2026
    views_per_session: int = 24
    moodle_url: str = "https://moodle.college.kz"
    platform_url: str = "https://proctor.college.kz"
    bbb_url: str = "https://bbb.college.kz"


@dataclass(frozen=True)
class CourseInfo:
    """A discipline's Moodle course and modules, and who teaches it."""

    programme: str
    code: str
    course: Course
    materials: tuple[Module, ...]
    quiz: Module
    room: Module
    forum: Module
    assignments: tuple[tuple[str, Module, datetime], ...]
    """(catalogue id, module, due)."""
    exam: str
    teacher: str


@dataclass
class College:
    plan: SemesterPlan
    catalogue: Catalogue
    courses: dict[tuple[str, str], CourseInfo]
    users: dict[str, User]
    breaches: dict[str, str] = field(default_factory=dict)
    """Groups deliberately out of compliance, and how."""
    weather_day: date | None = None

    def at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, ZONE)
