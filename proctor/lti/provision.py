"""Who comes in through a launch: the exam a resource link stands for, the candidate and session of a learner,
the examiner account of a teacher.

A resource link is bound to an exam once, at its first launch, by the `proctor_exam` custom parameter the tool
itself signed when the teacher picked the exam (deep linking): a teacher who edits the parameter in the LMS gets
a refusal, not another exam, and never an exam of another college.

People are matched by the platform's `sub`, never by e-mail address (a user may change their e-mail in the LMS):
a learner becomes the exam's candidate (or the candidate the college enrolled with the same external id, Moodle's
ID number), a teacher becomes an examiner of the linked exam. A launch never makes anyone a college admin.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from footprint.people import Person, Role, UserRow, person_from_row
from proctor.lti import claims as c
from proctor.lti.keys import signing_key, verify
from proctor.lti.launch import Launch, LaunchRefused
from proctor.lti.tables import AccountRow, LinkRow
from proctor.sessions.lifecycle import Status
from proctor.sessions.tables import CandidateRow, ExamExaminerRow, ExamRow, SessionRow

NO_PASSWORD = "!lti"
"""The password hash of a person who only comes through the LMS: no password opens it (an admin may set one)."""
LINK_AUDIENCE = "proctor-exam-link"


def exam_link(db: Session, platform_id: str, exam_id: str) -> str:
    """The signed custom parameter that binds a resource link of this platform to the exam."""
    key = signing_key(db)
    return key.sign(
        {"aud": LINK_AUDIENCE, "platform": platform_id, "exam": exam_id, "iat": int(datetime.now(UTC).timestamp())}
    )


def _linked_exam(db: Session, launch: Launch, value: object) -> ExamRow:
    if not isinstance(value, str) or not value:
        raise LaunchRefused(
            "not_linked",
            "this LMS activity is not linked to a proctored exam yet: the teacher adds it with the LMS's "
            "“Select content” button (deep linking)",
            404,
        )
    try:
        payload = verify(db, value, LINK_AUDIENCE)
    except jwt.PyJWTError as exc:
        raise LaunchRefused(
            "exam_link", "this activity's exam link was not made by this tool (or was edited)", 403
        ) from exc
    exam = db.get(ExamRow, str(payload.get("exam")))
    if payload.get("platform") != launch.platform.id or exam is None or exam.college_id != launch.platform.college_id:
        raise LaunchRefused("exam_link", "this activity's exam belongs to another LMS registration", 403)
    return exam


def resolve_link(db: Session, launch: Launch) -> tuple[LinkRow, ExamRow]:
    """The resource link's binding (made at its first launch) with the course's service URLs brought up to date."""
    resource = launch.resource_link_id
    if resource is None:
        raise LaunchRefused("resource_link", "the launch names no resource link")
    link = db.scalar(
        select(LinkRow).where(LinkRow.platform_id == launch.platform.id, LinkRow.resource_link_id == resource)
    )
    if link is None:
        exam = _linked_exam(db, launch, launch.custom.get(c.EXAM_LINK))
        link = LinkRow(platform_id=launch.platform.id, resource_link_id=resource, exam_id=exam.id)
        db.add(link)
    else:
        found = db.get(ExamRow, link.exam_id)
        if found is None:
            raise LaunchRefused("not_linked", "this activity's exam no longer exists", 404)
        exam = found
    link.context_id = launch.context_id
    link.memberships_url = launch.memberships_url or link.memberships_url
    if launch.lineitems_url and launch.lineitems_url != link.lineitems_url:
        link.lineitems_url = launch.lineitems_url
    db.flush()
    return link, exam


def _external_id(sub: str, sourcedid: str | None) -> str:
    return sourcedid or f"lti-{sub}"[:128]


def find_or_enrol(
    db: Session, exam: ExamRow, platform_id: str, sub: str, full_name: str, email: str | None, sourcedid: str | None
) -> tuple[CandidateRow, bool]:
    """The exam's candidate for this platform user: the one who came before, else the one the college enrolled with
    the same external id (not yet tied to another LMS user), else a new candidate without a reference photo.
    Answers whether it was made now."""
    found = db.scalar(
        select(CandidateRow).where(
            CandidateRow.exam_id == exam.id, CandidateRow.lti_platform_id == platform_id, CandidateRow.lti_sub == sub
        )
    )
    created = False
    if found is None:
        external = _external_id(sub, sourcedid)
        same_id = db.scalar(
            select(CandidateRow).where(CandidateRow.exam_id == exam.id, CandidateRow.external_id == external)
        )
        if same_id is not None and same_id.lti_sub is None:
            found = same_id
        else:
            if same_id is not None:  # that id is another LMS user's: this one is told apart by their sub
                external = f"lti-{sub}"[:128]
            found = CandidateRow(id=str(uuid.uuid4()), exam_id=exam.id, external_id=external, full_name=full_name)
            db.add(found)
            created = True
        found.lti_platform_id = platform_id
        found.lti_sub = sub
    found.full_name = full_name or found.full_name
    found.email = email or found.email
    db.flush()
    return found, created


@dataclass(frozen=True)
class LearnerEntry:
    """Where a learner's launch goes: their session and a fresh join token for it (the old one stops working)."""

    session_id: str
    candidate_id: str
    exam_id: str
    token: str
    new_session: bool


def learner_entry(db: Session, launch: Launch, link: LinkRow, exam: ExamRow) -> LearnerEntry:
    """The learner's candidate and session in the linked exam (made on the first launch; a new session after a
    retake verdict), with a new join token for the exam page."""
    candidate, _ = find_or_enrol(
        db, exam, launch.platform.id, launch.sub, launch.full_name, launch.email, launch.person_sourcedid
    )
    if candidate.withdrawn_at is not None:
        candidate.withdrawn_at = None  # launching from the course says they are in it
    token = secrets.token_urlsafe(24)
    digest = hashlib.sha256(token.encode()).hexdigest()
    session = db.scalar(
        select(SessionRow)
        .where(SessionRow.exam_id == exam.id, SessionRow.candidate_id == candidate.id)
        .order_by(SessionRow.created_at.desc())
        .limit(1)
    )
    new = session is None or session.status == Status.RETAKE.value
    if session is None or new:
        session = SessionRow(
            id=str(uuid.uuid4()),
            exam_id=exam.id,
            candidate_id=candidate.id,
            status=Status.SCHEDULED.value,
            join_token_hash=digest,
            job_state="none",
            lti_link_id=link.id,
        )
        db.add(session)
    else:
        session.join_token_hash = digest
        session.lti_link_id = link.id
    db.flush()
    return LearnerEntry(session.id, candidate.id, exam.id, token, new)


def staff_person(db: Session, launch: Launch) -> Person:
    """The examiner account of this platform user (made on their first launch; never found by e-mail)."""
    account = db.get(AccountRow, (launch.platform.id, launch.sub))
    if account is not None:
        row = db.get(UserRow, account.user_id)
        if row is None or row.college_id != launch.platform.college_id:
            raise LaunchRefused("account", "this LMS user's account here is gone", 403)
        if row.disabled_at is not None:
            raise LaunchRefused("disabled", "your account on the proctoring desk is disabled by the college", 403)
        row.full_name = launch.full_name
        return person_from_row(row)
    email = launch.email
    taken = email is None or db.scalar(
        select(UserRow.id).where(UserRow.college_id == launch.platform.college_id, UserRow.email == email)
    )
    if taken:  # the address belongs to someone of the college already: they are not merged by an LMS's word
        email = f"lti-{launch.platform.id[:8]}-{hashlib.sha256(launch.sub.encode()).hexdigest()[:12]}@lti.invalid"
    row = UserRow(
        id=str(uuid.uuid4()),
        college_id=launch.platform.college_id,
        email=email,
        full_name=launch.full_name,
        role=Role.EXAMINER.value,
        password_hash=NO_PASSWORD,
        created_at=datetime.now(UTC),
    )
    db.add(row)
    db.add(AccountRow(platform_id=launch.platform.id, sub=launch.sub, user_id=row.id, created_at=datetime.now(UTC)))
    db.flush()
    return person_from_row(row)


def assign_examiner(db: Session, person: Person, exam_id: str) -> None:
    """The person examines the exam (admins see every exam already)."""
    if person.role == Role.EXAMINER and db.get(ExamExaminerRow, (exam_id, person.id)) is None:
        db.add(ExamExaminerRow(exam_id=exam_id, user_id=person.id))
        db.flush()
