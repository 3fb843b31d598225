"""College API: the college's people who sign in (admins, examiners) and which examiners each exam has.

Examiners are managed with the `people` scope; an admin person (who sees every exam) only with `admin` too.
Disabling a person or setting their password ends their desk sign-ins at once.

Handlers are plain functions (FastAPI runs them on its thread pool): hashing a password is deliberately
slow work that must never run on the event loop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from footprint.accounts import Credential, Scope
from footprint.people import (
    EmailTaken,
    PeopleError,
    Person,
    Role,
    add_person,
    people_of,
    person_of,
    set_disabled,
    set_password,
)
from footprint.signins import end_sign_ins
from proctor.review.assignments import assign, examiners_of, unassign
from proctor.sessions.listing import MAX_PAGE
from web.auth import PeopleKey, missing_scope
from web.deps import ServicesDep
from web.routes.college.models import Page
from web.urls import public_url

router = APIRouter(tags=["people"])


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] = Field(
        description="What they sign in with (one person on the whole platform)."
    )
    full_name: str = Field(min_length=1, max_length=300)
    role: Literal["admin", "examiner"] = Field(description="admin: the whole college; examiner: assigned exams.")
    password: str = Field(min_length=10, max_length=200, description="At least 10 characters; stored as Argon2id.")


class PasswordSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=10, max_length=200, description="At least 10 characters; stored as Argon2id.")


class UserPublic(BaseModel):
    id: str
    email: str
    full_name: str
    role: str
    created_at: datetime
    disabled_at: datetime | None = Field(None, description="Set while the person may not sign in.")


def _public(person: Person) -> UserPublic:
    return UserPublic(
        id=person.id,
        email=person.email,
        full_name=person.full_name,
        role=person.role.value,
        created_at=person.created_at,
        disabled_at=person.disabled_at,
    )


def _may_manage(credential: Credential, role: Role) -> None:
    """An admin person is managed only with the `admin` scope (they see every exam and every recording)."""
    if role == Role.ADMIN and not credential.allows(Scope.ADMIN):
        raise missing_scope(credential, Scope.ADMIN)


def _person(services: ServicesDep, credential: Credential, user_id: str) -> Person:
    with services.sessions() as db:
        person = person_of(db, credential.college_id, user_id)
    if person is None:
        raise HTTPException(404, f"no person {user_id} in this college")
    _may_manage(credential, person.role)
    return person


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
def create_user(body: UserCreate, credential: PeopleKey, services: ServicesDep) -> UserPublic:
    """Add an examiner (or, with the `admin` scope too, an admin) to the college; 409 when the college has them."""
    _may_manage(credential, Role(body.role))
    try:
        with services.writing() as db:
            person = add_person(db, credential.college_id, body.email, body.full_name, Role(body.role), body.password)
    except EmailTaken as exc:
        raise HTTPException(409, str(exc)) from exc
    except PeopleError as exc:
        raise HTTPException(400, str(exc)) from exc
    return _public(person)


@router.get("/users", response_model=Page[UserPublic])
def list_users(
    request: Request,
    credential: PeopleKey,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, description="Items to skip.")] = 0,
) -> Page[UserPublic]:
    """The college's people, by e-mail address (paged like the other lists)."""
    with services.sessions() as db:
        people = people_of(db, credential.college_id)
    following = public_url(request, offset=offset + limit) if offset + limit < len(people) else None
    items = [_public(person) for person in people[offset : offset + limit]]
    return Page[UserPublic](items=items, total=len(people), limit=limit, offset=offset, next=following)


@router.post("/users/{user_id}/disable", response_model=UserPublic)
def disable_user(user_id: str, credential: PeopleKey, services: ServicesDep) -> UserPublic:
    """Disable a person: they cannot sign in, and their desk sign-ins end at once (twice changes nothing)."""
    _person(services, credential, user_id)
    with services.writing() as db:
        person = set_disabled(db, credential.college_id, user_id, disabled=True)
        end_sign_ins(db, user_id)
    return _public(person)


@router.post("/users/{user_id}/enable", response_model=UserPublic)
def enable_user(user_id: str, credential: PeopleKey, services: ServicesDep) -> UserPublic:
    """Let a disabled person sign in again."""
    _person(services, credential, user_id)
    with services.writing() as db:
        person = set_disabled(db, credential.college_id, user_id, disabled=False)
    return _public(person)


@router.put("/users/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT)
def reset_password(user_id: str, body: PasswordSet, credential: PeopleKey, services: ServicesDep) -> Response:
    """Set a person's password (they forgot it, or it leaked); their desk sign-ins end at once."""
    _person(services, credential, user_id)
    try:
        with services.writing() as db:
            set_password(db, credential.college_id, user_id, body.password)
            end_sign_ins(db, user_id)
    except PeopleError as exc:
        raise HTTPException(400, str(exc)) from exc
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/exams/{exam_id}/examiners", response_model=list[UserPublic])
def list_examiners(exam_id: str, credential: PeopleKey, services: ServicesDep) -> list[UserPublic]:
    """The examiners assigned to the exam."""
    with services.sessions() as db:
        return [_public(person) for person in examiners_of(db, credential.college_id, exam_id)]


@router.put("/exams/{exam_id}/examiners/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def assign_examiner(exam_id: str, user_id: str, credential: PeopleKey, services: ServicesDep) -> Response:
    """Assign an examiner to the exam (assigning twice changes nothing; an admin is 409: admins see every exam)."""
    with services.writing() as db:
        assign(db, credential.college_id, exam_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/exams/{exam_id}/examiners/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def unassign_examiner(exam_id: str, user_id: str, credential: PeopleKey, services: ServicesDep) -> Response:
    """Take an examiner off the exam (when not assigned, nothing changes)."""
    with services.writing() as db:
        unassign(db, credential.college_id, exam_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
