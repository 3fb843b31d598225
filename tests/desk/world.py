"""A desk world built for the tests from real parts: two colleges with their admins and examiners, exams, candidates
enrolled with a real photo, sessions whose recording (the demo exam, composed from real faces and speech) is kept
as chunks and analysed by the real pipeline. The analysis of the demo runs once; sessions of the same recording
take its result, as a re-run of the same file would give."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from footprint.accounts import ALL_SCOPES, bootstrap, issue_key_for
from footprint.people import Role, add_person
from proctor.policy import PRESETS
from proctor.sessions.job import AnalysisJob, JobResult, JobSource, run_job
from proctor.sessions.recordings import Upload
from proctor.sessions.service import SessionService
from proctor.sessions.tables import ExamExaminerRow
from tests.fixtures.scenarios import Scenario
from web.deps import Services
from web.platform import build_session_service
from web.services import build_services
from web.settings import Settings, load_settings

KEY = "desk-college-a-key-0123456789"
PASSWORD = "correct horse battery staple"
KAZAKH_NAME = "Айгерім Нұрланқызы"
RUSSIAN_NAME = "Иван Петров"
RUSSIAN_EXAMINER = "Ольга Викторовна Смирнова"


@dataclass(frozen=True)
class Person:
    email: str
    full_name: str
    id: str


@dataclass(frozen=True)
class World:
    """What the tests sign in as and look at."""

    settings: Settings
    college_a: str
    college_b: str
    key_a: str
    key_b: str
    admin_a: Person
    examiner_a: Person
    """Assigned to exam_a."""
    idle_examiner_a: Person
    """Of college A, assigned to nothing."""
    admin_b: Person
    examiner_b: Person
    exam_a: str
    sessions_a: tuple[str, ...]
    """Analysed sessions of exam_a: the first is Айгерім Нұрланқызы's, the second Иван Петров's."""
    scheduled_a: str
    """A session of exam_a that never started."""
    join_token_a: str
    """The candidate's join token of sessions_a[0]."""
    exam_b: str
    session_b: str
    analysis: JobResult
    """The demo's analysis the sessions hold (to build the same world on another database without re-running it)."""

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir


def analyse_demo(demo: Scenario, service: SessionService, embedding: bytes) -> JobResult:
    """The real analysis of the demo recording against an enrolled embedding (the final attestation's policy)."""
    policy = PRESETS["final"].model_dump(mode="json")
    job = AnalysisJob("demo", (JobSource(str(demo.video), 0.0),), embedding, policy, demo.duration_s)
    return run_job(job)


def upload_of(source: Path, folder: Path) -> Upload:
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / f"upload-{len(list(folder.iterdir()))}{source.suffix}"
    shutil.copy(source, copy)
    return Upload(copy, hashlib.sha256(copy.read_bytes()).hexdigest(), copy.stat().st_size, source.name)


def _person(services: Services, college_id: str, email: str, name: str, role: Role) -> Person:
    with services.writing() as db:
        made = add_person(db, college_id, email, name, role, PASSWORD)
    return Person(made.email, made.full_name, made.id)


def build_world(data_dir: Path, demo: Scenario, analysis: JobResult | None = None, db_url: str | None = None) -> World:
    """Build the world in `data_dir` (SQLite there, or `db_url`); returns it with the demo's analysis reused."""
    settings = load_settings(
        {}, data_dir=data_dir, database_url=db_url, bootstrap_api_key=KEY, checkpoint_interval_s=3600
    )
    services = build_services(settings)
    service = build_session_service(services)
    try:
        with services.writing() as db:
            college_a = bootstrap(db, KEY).college_id
            key_b = issue_key_for(db, "Other College", "lms", ALL_SCOPES, new_college=True)
        college_b = key_b.credential.college_id
        admin_a = _person(services, college_a, "head@college-a.kz", "Сәуле Әбілқызы", Role.ADMIN)
        examiner_a = _person(services, college_a, "examiner@college-a.kz", RUSSIAN_EXAMINER, Role.EXAMINER)
        idle = _person(services, college_a, "idle@college-a.kz", "Пётр Сидоров", Role.EXAMINER)
        admin_b = _person(services, college_b, "head@college-b.kz", "Admin B", Role.ADMIN)
        examiner_b = _person(services, college_b, "examiner@college-b.kz", "Examiner B", Role.EXAMINER)
        photo = demo.reference.read_bytes()
        exam_a = service.create_exam(college_a, "Қорытынды аттестация: Дәнекерлеу", "final", None, duration_min=90)
        exam_b = service.create_exam(college_b, "Final: Plumbing", "final", None)
        with services.writing() as db:
            db.add(ExamExaminerRow(exam_id=exam_a.id, user_id=examiner_a.id))
        first = service.add_candidate(college_a, exam_a.id, "S-001", KAZAKH_NAME, photo)
        second = service.add_candidate(college_a, exam_a.id, "S-002", RUSSIAN_NAME, photo)
        third = service.add_candidate(college_a, exam_a.id, "S-003", "Асқар Серікұлы", photo)
        other = service.add_candidate(college_b, exam_b.id, "B-001", "Candidate B", photo)
        result = analysis or analyse_demo(demo, service, first.embedding)
        incoming = data_dir / "incoming"
        made: list[str] = []
        token_a = ""
        for college, exam, candidate in (
            (college_a, exam_a.id, first.id),
            (college_a, exam_a.id, second.id),
            (college_b, exam_b.id, other.id),
        ):
            row, token = service.create_session(college, exam, candidate)
            token_a = token_a or token
            service.recordings.accept(college, row.id, upload_of(demo.video, incoming))
            service.analyses.start(row.id)
            service.analyses.finish(dataclasses.replace(result, session_id=row.id))
            made.append(row.id)
        scheduled, _ = service.create_session(college_a, exam_a.id, third.id)
    finally:
        services.engine.dispose()
    return World(
        settings=settings,
        college_a=college_a,
        college_b=college_b,
        key_a=KEY,
        key_b=key_b.secret,
        admin_a=admin_a,
        examiner_a=examiner_a,
        idle_examiner_a=idle,
        admin_b=admin_b,
        examiner_b=examiner_b,
        exam_a=exam_a.id,
        sessions_a=(made[0], made[1]),
        scheduled_a=scheduled.id,
        join_token_a=token_a,
        exam_b=exam_b.id,
        session_b=made[2],
        analysis=result,
    )


def copy_world(world: World, target: Path) -> World:
    """The same world in another folder (SQLite file and media), for a test that changes it."""
    shutil.copytree(world.data_dir, target)
    return dataclasses.replace(world, settings=world.settings.model_copy(update={"data_dir": target}))
