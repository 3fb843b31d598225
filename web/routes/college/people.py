"""College API: the college's people who sign in (admins, examiners) and which examiners each exam has.

Handlers are plain functions (FastAPI runs them on its thread pool): hashing a password is deliberately
slow work that must never run on the event loop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from footprint.people import EmailTaken, PeopleError, Person, Role, add_person, people_of
from proctor.review.assignments import assign, examiners_of, unassign
from web.auth import CredentialDep
from web.deps import ServicesDep

router = APIRouter(tags=["people"])


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] = Field(
        description="What they sign in with (one person on the whole platform)."
    )
    full_name: str = Field(min_length=1, max_length=300)
    role: Literal["admin", "examiner"] = Field(description="admin: the whole college; examiner: assigned exams.")
    password: str = Field(min_length=10, max_length=200, description="At least 10 characters; stored as Argon2id.")


class UserPublic(BaseModel):
    id: str
    email: str
    full_name: str
    role: str
    created_at: datetime


def _public(person: Person) -> UserPublic:
    return UserPublic(
        id=person.id,
        email=person.email,
        full_name=person.full_name,
        role=person.role.value,
        created_at=person.created_at,
    )


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
def create_user(body: UserCreate, credential: CredentialDep, services: ServicesDep) -> UserPublic:
    """Add an admin or an examiner to the college (409 when the e-mail address already signs in)."""
    try:
        with services.writing() as db:
            person = add_person(db, credential.college_id, body.email, body.full_name, Role(body.role), body.password)
    except EmailTaken as exc:
        raise HTTPException(409, str(exc)) from exc
    except PeopleError as exc:
        raise HTTPException(400, str(exc)) from exc
    return _public(person)


@router.get("/users", response_model=list[UserPublic])
def list_users(credential: CredentialDep, services: ServicesDep) -> list[UserPublic]:
    """The college's people, by e-mail address."""
    with services.sessions() as db:
        return [_public(person) for person in people_of(db, credential.college_id)]


@router.get("/exams/{exam_id}/examiners", response_model=list[UserPublic])
def list_examiners(exam_id: str, credential: CredentialDep, services: ServicesDep) -> list[UserPublic]:
    """The examiners assigned to the exam."""
    with services.sessions() as db:
        return [_public(person) for person in examiners_of(db, credential.college_id, exam_id)]


@router.put("/exams/{exam_id}/examiners/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def assign_examiner(exam_id: str, user_id: str, credential: CredentialDep, services: ServicesDep) -> Response:
    """Assign an examiner to the exam (assigning twice changes nothing; an admin is 409: admins see every exam)."""
    with services.writing() as db:
        assign(db, credential.college_id, exam_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/exams/{exam_id}/examiners/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def unassign_examiner(exam_id: str, user_id: str, credential: CredentialDep, services: ServicesDep) -> Response:
    """Take an examiner off the exam (when not assigned, nothing changes)."""
    with services.writing() as db:
        unassign(db, credential.college_id, exam_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
