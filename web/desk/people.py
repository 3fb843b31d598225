"""The college's people on the desk (admins only): who signs in, in which role, and which exams each examiner
reviews; an admin adds admins and examiners, sets an examiner's exams, disables or enables a person (a disabled
person's sign-ins end at once) and sets a new password. The same rules as the college API; an admin cannot
disable themselves (someone must be left to undo it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from footprint.people import EmailTaken, PeopleError, Role, add_person, people_of, person_of, set_disabled, set_password
from footprint.signins import SignedIn, end_sign_ins
from proctor.review.assignments import assign, college_examiner, exams_of, unassign
from proctor.sessions.tables import ExamRow
from web.deps import ServicesDep
from web.desk.auth import CsrfChecked, DeskAdmin, DeskDenied
from web.desk.pages import common
from web.desk.render import render

router = APIRouter(prefix="/desk", include_in_schema=False)


def people_page(
    request: Request, services: ServicesDep, user: SignedIn, *, status_code: int = 200, error: str | None = None
) -> HTMLResponse:
    college = user.person.college_id
    with services.sessions() as db:
        people = people_of(db, college)
        exams = db.scalars(
            select(ExamRow).where(ExamRow.college_id == college).order_by(ExamRow.created_at.desc())
        ).all()
        assigned = {person.id: exams_of(db, person.id) for person in people if person.role == Role.EXAMINER}
    values = {"people": people, "exams": exams, "assigned": assigned, "error": error, "roles": [r.value for r in Role]}
    return render(request, "desk/people.html", {**values, **common(user)}, status=status_code)


@router.get("/people", response_class=HTMLResponse)
def list_people(request: Request, services: ServicesDep, admin: DeskAdmin) -> Response:
    """The college's people and each examiner's exams."""
    return people_page(request, services, admin)


@router.post("/people", response_class=HTMLResponse)
def add(
    request: Request,
    services: ServicesDep,
    user: CsrfChecked,
    email: Annotated[str, Form(max_length=254)],
    full_name: Annotated[str, Form(max_length=300)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    """Add an admin or an examiner (the page again with the reason when it cannot be done)."""
    if user.person.role != Role.ADMIN:
        raise DeskDenied(403, "only the college's admins may add people")
    if role not in {r.value for r in Role}:
        return people_page(request, services, user, status_code=400, error="desk.people.bad_role")
    try:
        with services.writing() as db:
            add_person(db, user.person.college_id, email, full_name, Role(role), password)
    except EmailTaken:
        return people_page(request, services, user, status_code=409, error="desk.people.taken")
    except PeopleError:
        return people_page(request, services, user, status_code=400, error="desk.people.invalid")
    return RedirectResponse("/desk/people", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/people/{user_id}/exams")
async def set_exams(request: Request, user_id: str, services: ServicesDep, user: CsrfChecked) -> Response:
    """Set the exams an examiner reviews: the exams ticked are assigned, the others taken off."""
    if user.person.role != Role.ADMIN:
        raise DeskDenied(403, "only the college's admins may assign examiners")
    wanted = {value for value in (await request.form()).getlist("exam") if isinstance(value, str)}
    college = user.person.college_id

    def change() -> None:
        with services.writing() as db:
            college_examiner(db, college, user_id)  # 404 for another college's person, 409 for an admin
            mine = set(db.scalars(select(ExamRow.id).where(ExamRow.college_id == college)))
            current = exams_of(db, user_id) & mine
            for exam_id in sorted((wanted & mine) - current):
                assign(db, college, exam_id, user_id)
            for exam_id in sorted(current - wanted):
                unassign(db, college, exam_id, user_id)
            if wanted - mine:
                raise DeskDenied(404, "no such exam in this college")

    await run_in_threadpool(change)
    return RedirectResponse("/desk/people", status_code=status.HTTP_303_SEE_OTHER)


def _other_person(services: ServicesDep, user: SignedIn, user_id: str) -> None:
    """404 unless `user_id` is someone of the admin's college; 409 for the admin themselves."""
    if user.person.role != Role.ADMIN:
        raise DeskDenied(403, "only the college's admins may change people")
    with services.sessions() as db:
        if person_of(db, user.person.college_id, user_id) is None:
            raise DeskDenied(404, "no such person in this college")
    if user_id == user.person.id:
        raise DeskDenied(409, "you cannot change your own access here; ask another admin")


@router.post("/people/{user_id}/disable")
def disable(user_id: str, services: ServicesDep, user: CsrfChecked) -> Response:
    """Disable a person: they cannot sign in and their sign-ins end now."""
    _other_person(services, user, user_id)
    with services.writing() as db:
        set_disabled(db, user.person.college_id, user_id, disabled=True)
        end_sign_ins(db, user_id)
    return RedirectResponse("/desk/people", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/people/{user_id}/enable")
def enable(user_id: str, services: ServicesDep, user: CsrfChecked) -> Response:
    """Let a disabled person sign in again."""
    _other_person(services, user, user_id)
    with services.writing() as db:
        set_disabled(db, user.person.college_id, user_id, disabled=False)
    return RedirectResponse("/desk/people", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/people/{user_id}/password", response_class=HTMLResponse)
def new_password(
    request: Request,
    user_id: str,
    services: ServicesDep,
    user: CsrfChecked,
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    """Set a person's password (the page again with the reason when it is too weak); their sign-ins end now."""
    _other_person(services, user, user_id)
    try:
        with services.writing() as db:
            set_password(db, user.person.college_id, user_id, password)
            end_sign_ins(db, user_id)
    except PeopleError:
        return people_page(request, services, user, status_code=400, error="desk.people.weak_password")
    return RedirectResponse("/desk/people", status_code=status.HTTP_303_SEE_OTHER)
