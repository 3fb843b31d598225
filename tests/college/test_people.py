"""A college's people: admins and examiners added through the college API (passwords kept as Argon2id),
examiners assigned to exams, the first admin created from the command line; every college sees only its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from footprint.people import UserRow, sign_in
from footprint.store import make_engine
from tests.college.test_college_api import KEY, auth, other_college_key
from tests.servers import ROOT
from web.app import create_app
from web.settings import load_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings({}, data_dir=tmp_path / "data", database_url=db_url, bootstrap_api_key=KEY)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def person(client: TestClient, email: str, role: str = "examiner", key: str = KEY, **extra: str) -> dict[str, str]:
    body = {"email": email, "full_name": "Айгерім Нұрланқызы", "role": role, "password": PASSWORD, **extra}
    answer = client.post("/api/v1/users", json=body, headers=auth(key))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def exam(client: TestClient, key: str = KEY) -> str:
    made = client.post("/api/v1/exams", json={"title": "Final: Welding", "attestation": "final"}, headers=auth(key))
    assert made.status_code == 201
    return str(made.json()["id"])


def test_people_are_added_with_a_hashed_password_and_an_address_once_per_college(
    client: TestClient, db_url: str
) -> None:
    made = person(client, "Examiner@College.kz")
    assert made["email"] == "examiner@college.kz" and made["role"] == "examiner" and "password" not in made
    again = client.post(
        "/api/v1/users",
        json={"email": "examiner@college.kz", "full_name": "X", "role": "admin", "password": PASSWORD},
        headers=auth(),
    )
    assert again.status_code == 409 and "already" in again.json()["error"]["message"]
    body = {"email": "a@b.kz", "full_name": "X", "role": "admin", "password": "short"}
    weak = client.post("/api/v1/users", json=body, headers=auth())
    assert weak.status_code == 400 and "password" in weak.json()["error"]["message"]
    unknown_role = client.post("/api/v1/users", json={**body, "role": "owner", "password": PASSWORD}, headers=auth())
    assert unknown_role.status_code == 400
    spaced = client.post("/api/v1/users", json={**body, "password": f" {PASSWORD} "}, headers=auth())
    assert spaced.status_code == 400 and "spaces" in spaced.json()["error"]["message"]
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            stored = db.scalars(select(UserRow).where(UserRow.email == "examiner@college.kz")).one()
            assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
            assert [p.email for p in sign_in(db, "EXAMINER@college.kz", PASSWORD)] == ["examiner@college.kz"]
            assert sign_in(db, "examiner@college.kz", PASSWORD + "!") == []
            assert sign_in(db, "nobody@college.kz", PASSWORD) == []
    finally:
        engine.dispose()


def test_examiners_are_assigned_to_exams_of_their_own_college_only(client: TestClient, db_url: str) -> None:
    examiner, admin = person(client, "examiner@college.kz"), person(client, "admin@college.kz", "admin")
    exam_id = exam(client)
    path = f"/api/v1/exams/{exam_id}/examiners"
    assert client.put(f"{path}/{examiner['id']}", headers=auth()).status_code == 204
    assert client.put(f"{path}/{examiner['id']}", headers=auth()).status_code == 204  # twice: no change
    assert [p["id"] for p in client.get(path, headers=auth()).json()] == [examiner["id"]]
    refused = client.put(f"{path}/{admin['id']}", headers=auth())
    assert refused.status_code == 409 and "admin" in refused.json()["error"]["message"]

    other = other_college_key(db_url)
    theirs = person(client, "their.examiner@other.kz", key=other)
    their_exam = exam(client, key=other)
    assert [p["email"] for p in client.get("/api/v1/users", headers=auth()).json()["items"]] == [
        "admin@college.kz",
        "examiner@college.kz",
    ]
    theirs_listed = client.get("/api/v1/users", headers=auth(other)).json()
    assert [p["email"] for p in theirs_listed["items"]] == ["their.examiner@other.kz"]
    first = client.get("/api/v1/users?limit=1", headers=auth()).json()
    assert (first["total"], len(first["items"]), first["items"][0]["email"]) == (2, 1, "admin@college.kz")
    assert first["next"] is not None and first["next"].endswith("/api/v1/users?limit=1&offset=1")
    assert client.put(f"{path}/{theirs['id']}", headers=auth()).status_code == 404  # their examiner, our exam
    assert client.put(f"/api/v1/exams/{their_exam}/examiners/{examiner['id']}", headers=auth()).status_code == 404
    assert client.put(f"{path}/{examiner['id']}", headers=auth(other)).status_code == 404  # our exam, their key
    assert client.get(path, headers=auth(other)).status_code == 404

    assert client.delete(f"{path}/{examiner['id']}", headers=auth()).status_code == 204
    assert client.get(path, headers=auth()).json() == []
    assert client.post("/api/v1/users", json={}, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_the_first_admin_is_created_from_the_command_line(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")},
        "PROCTOR_DATA_DIR": str(tmp_path / "data"),
    }

    def create(
        email: str, password: str, college: str = "Aqtobe Polytechnic", new: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "web", "create-admin", college, email, "Ерлан Сапаров"]
        command += ["--new-college"] if new else []
        return subprocess.run(
            [*command, "--password-stdin"], input=password + "\n", env=env, cwd=ROOT, capture_output=True, text=True
        )

    made = create("head@aqtobe.kz", PASSWORD)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("admin head@aqtobe.kz (") and "Aqtobe Polytechnic" in made.stdout
    weak = create("second@aqtobe.kz", "short")
    assert weak.returncode == 2 and "at least 10 characters" in weak.stderr
    typo = create("deputy@aqtobe.kz", PASSWORD, "Aqtobe Politechnic", new=False)
    assert typo.returncode == 2 and "no college named 'Aqtobe Politechnic'" in typo.stderr
    taken = create("HEAD@aqtobe.kz", PASSWORD)
    assert taken.returncode == 2 and "already" in taken.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'proctor.db'}")
    try:
        with Session(engine) as db:
            people = db.scalars(select(UserRow)).all()
            assert [(p.email, p.role) for p in people] == [("head@aqtobe.kz", "admin")]  # nothing half-written
    finally:
        engine.dispose()
