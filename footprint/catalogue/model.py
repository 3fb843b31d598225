"""The catalogue of a college: what the statements are measured against.

Programmes with their working curriculum, groups, learners and teachers with the LMS accounts their
statements name, the approved distance-learning list, the timetable, assignments with due dates (Moodle
sends none) and distance episodes with their legal ground and evidence. Pydantic models are the one
definition: they validate imports and generate the shipped JSON Schema (`catalogue.schema.json`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\s\x00-\x1f]+$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]*$")]
IRI = Annotated[str, StringConstraints(min_length=3, max_length=2048, pattern=r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")]
Hours = Annotated[float, Field(ge=0, le=100_000)]
FIRST_YEAR = 2000
LAST_YEAR = 2100
"""Dates and times of a catalogue, and the periods reports cover, lie in these years (checked at import)."""

Level = Literal["tvet", "higher"]
Form = Literal["full_time", "extramural", "evening", "external", "online"]
FieldOfStudy = Literal[
    "pedagogy",
    "medicine",
    "pharmacy",
    "health_care",
    "law",
    "choreography",
    "instrumental_performance",
    "aviation",
    "construction",
    "maritime",
    "military",
    "veterinary",
    "arts",
    "business",
    "engineering",
    "energy",
    "it",
    "agriculture",
    "transport",
    "services",
    "other",
]
Mode = Literal["in_person", "synchronous", "asynchronous"]
Ground = Literal["weather", "emergency", "medical", "competition", "parents"]
DocumentKind = Literal[
    "head_order",
    "department_order",
    "commission_conclusion",
    "authority_order",
    "authority_letter",
    "learner_application",
    "parents_application",
    "council_decision",
]
Recognition = Literal["mobility", "double_degree", "exchange", "non_formal"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Account(Strict):
    """An LMS identity as xAPI sends it: `account{homePage, name}` (Moodle) or `mbox`."""

    homePage: IRI | None = Field(None, description="The LMS address, e.g. Moodle's site URL.")
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = Field(
        None, description="The account name, e.g. the Moodle user id."
    )
    mbox: Annotated[str, StringConstraints(pattern=r"^mailto:[^@\s]+@[^@\s]+$")] | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> Account:
        if (self.mbox is None) == (self.homePage is None or self.name is None):
            raise ValueError("an account is either homePage + name or mbox")
        return self


class Discipline(Strict):
    """A discipline or module of the working curriculum."""

    code: Id
    name: Text
    hours: Hours | None = Field(None, description="Academic hours (TVET).")
    credits: Hours | None = Field(None, description="Credits (higher education).")
    practice: bool = Field(False, description="Industrial training or professional practice (excluded from shares).")
    course: IRI | None = Field(None, description="The LMS course its statements name, e.g. W/course/view.php?id=7.")
    materials: list[IRI] = Field(default_factory=list, description="LMS modules that are its study materials.")
    exams: list[Id] = Field(default_factory=list, description="Proctored exams of this platform that attest it.")
    distance_credits: Hours = Field(0, description="Credits delivered with distance technologies (higher education).")
    recognition: Recognition | None = Field(
        None, description="Credits earned by academic mobility, a double degree, an exchange or recognised MOOCs."
    )


class Programme(Strict):
    id: Id
    name: Text
    level: Level
    form: Form
    field: FieldOfStudy
    disciplines: list[Discipline] = Field(min_length=1)


class Group(Strict):
    id: Id
    programme: Id
    name: Text | None = None


class Person(Strict):
    id: Id
    name: Text
    accounts: list[Account] = Field(default_factory=list)
    aliases: list[Text] = Field(
        default_factory=list, description="Display names other systems use, e.g. in BigBlueButton."
    )


class Learner(Person):
    group: Id


class Teacher(Person):
    pass


class Document(Strict):
    """An order, letter, conclusion, application or decision that grounds an episode or a list."""

    kind: DocumentKind
    number: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    date: date
    issuer: Text | None = None


class ApprovedList(Strict):
    """The head's order approving the disciplines taught with distance technologies (annex 1 §6)."""

    order: Document
    programme: Id
    disciplines: list[Id] = Field(min_length=1)
    valid_from: date | None = Field(None, description="Default: the order's date.")
    valid_until: date | None = None


class ClassSession(Strict):
    """One class of the timetable."""

    id: Id
    group: Id
    teacher: Id
    discipline: Id
    start: AwareDatetime
    end: AwareDatetime
    mode: Mode
    activity: IRI | None = Field(None, description="The LMS activity of the virtual class (e.g. the BBB module).")
    registration: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, description="The virtual-classroom registration of this planned session, when the system sends one."
    )
    hours: Hours | None = Field(None, description="Academic hours; default: its minutes / 45.")
    assignments: list[Id] = Field(default_factory=list, description="Tasks set in the class (weather-day report).")

    @model_validator(mode="after")
    def _times(self) -> ClassSession:
        if self.end <= self.start:
            raise ValueError(f"class {self.id} ends before it starts")
        if self.mode == "synchronous" and self.activity is None:
            raise ValueError(f"synchronous class {self.id} needs the LMS activity of its virtual class")
        return self


class Assignment(Strict):
    id: Id
    programme: Id
    discipline: Id
    activity: IRI = Field(description="The LMS module, e.g. W/mod/assign/view.php?id=12.")
    due: AwareDatetime
    groups: list[Id] = Field(default_factory=list, description="Default: every group of the programme.")


class Episode(Strict):
    """A period of distance learning with its legal ground and evidence (annex 1 §12–28)."""

    id: Id
    ground: Ground
    learner: Id | None = None
    group: Id | None = None
    start: AwareDatetime
    end: AwareDatetime
    documents: list[Document] = Field(default_factory=list)
    approver: Text | None = None
    shift: Annotated[int, Field(ge=1, le=3)] | None = None
    classes: list[Id] = Field(default_factory=list, description="Weather: the classes the order names (default all).")
    activity: IRI | None = Field(
        None,
        description="Weather, emergency: the virtual class the order holds the moved classes in (for classes whose "
        "timetable names none), so the day's connections can be counted.",
    )

    @model_validator(mode="after")
    def _scope(self) -> Episode:
        if (self.learner is None) == (self.group is None):
            raise ValueError(f"episode {self.id} names either a learner or a group")
        if self.end <= self.start:
            raise ValueError(f"episode {self.id} ends before it starts")
        return self


class Term(Strict):
    """A term (semester) of the academic calendar: reports asked for no period cover the term in force."""

    id: Id
    name: Text | None = None
    starts: date = Field(description="Its first day (from local midnight, in the catalogue's time zone).")
    ends: date = Field(description="Its last day (until the local midnight after it).")

    @model_validator(mode="after")
    def _days(self) -> Term:
        if self.ends < self.starts:
            raise ValueError(f"term {self.id} ends before it starts")
        return self


class Catalogue(Strict):
    """Everything a college's footprint is measured against; import it whole or one table at a time."""

    timezone: Annotated[str, StringConstraints(max_length=64)] = Field(
        "Asia/Almaty", description="IANA time zone of the timetable (weekends, nights, local times in CSV)."
    )
    programmes: list[Programme] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)
    learners: list[Learner] = Field(default_factory=list)
    teachers: list[Teacher] = Field(default_factory=list)
    approved_lists: list[ApprovedList] = Field(default_factory=list)
    classes: list[ClassSession] = Field(default_factory=list)
    assignments: list[Assignment] = Field(default_factory=list)
    episodes: list[Episode] = Field(default_factory=list)
    terms: list[Term] = Field(
        default_factory=list,
        description="The academic calendar's terms: a report asked for no period covers the term in force (its "
        "first day from local midnight), not only from the group's first class.",
    )


TABLES = (
    "programmes",
    "groups",
    "learners",
    "teachers",
    "approved_lists",
    "classes",
    "assignments",
    "episodes",
    "terms",
)
