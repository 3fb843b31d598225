"""Keys and people with least privilege: keys issued with scopes, listed, rotated and revoked (API and command
line); the demo key and the demo admin only while the server runs with the demo key; people disabled and given a
new password by an admin, their sign-ins ended at once; an address may be someone of two colleges, and creating
a person never tells a college another college's addresses."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from footprint.accounts import authenticate
from footprint.people import Role, add_person
from footprint.store import make_engine, make_session_factory
from tests.college.test_college_api import KEY, auth, other_college_key
from tests.desk.desk_client import HTML, login_token
from tests.servers import ROOT
from web.app import create_app
from web.settings import load_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings({}, data_dir=tmp_path / "data", database_url=db_url, bootstrap_api_key=KEY)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def key(client: TestClient, name: str, scopes: list[str], admin: str = KEY) -> dict[str, str]:
    made = client.post("/api/v1/keys", json={"name": name, "scopes": scopes}, headers=auth(admin))
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_keys_are_issued_with_scopes_listed_rotated_and_revoked(client: TestClient, db_url: str) -> None:
    lms = key(client, "moodle", ["xapi"])
    assert lms["scopes"] == ["xapi"] and lms["prefix"] == lms["secret"][:12] and lms["active"]
    assert lms["secret"].startswith("pkz_")
    listed = {k["id"]: k for k in client.get("/api/v1/keys", headers=auth()).json()}
    assert "secret" not in listed[lms["id"]] and listed[lms["id"]]["last_used_at"] is None
    assert client.get("/xapi/about").status_code == 200
    statements = client.get("/xapi/statements", headers={**auth(lms["secret"]), "X-Experience-API-Version": "1.0.3"})
    assert statements.status_code == 200
    used = {k["id"]: k for k in client.get("/api/v1/keys", headers=auth()).json()}[lms["id"]]
    assert used["last_used_at"] is not None
    refused = client.get("/api/v1/exams", headers=auth(lms["secret"]))
    assert refused.status_code == 403 and "`sessions`" in refused.json()["error"]["message"]
    assert client.get("/api/v1/keys", headers=auth(lms["secret"])).status_code == 403  # keys need `admin`

    rotated = client.post(f"/api/v1/keys/{lms['id']}/rotate", json={"keep_old_for_s": 3600}, headers=auth())
    assert rotated.status_code == 201 and rotated.json()["scopes"] == ["xapi"] and rotated.json()["name"] == "moodle"
    new_secret = rotated.json()["secret"]
    old = {k["id"]: k for k in client.get("/api/v1/keys", headers=auth()).json()}[lms["id"]]
    assert old["active"] and old["expires_at"] is not None  # the old key lives on for the grace period
    for secret in (lms["secret"], new_secret):
        answer = client.get("/xapi/statements", headers={**auth(secret), "X-Experience-API-Version": "1.0.3"})
        assert answer.status_code == 200
    assert client.delete(f"/api/v1/keys/{lms['id']}", headers=auth()).status_code == 204
    assert client.get("/api/v1/exams", headers=auth(lms["secret"])).status_code == 401
    again = client.post(f"/api/v1/keys/{lms['id']}/rotate", json={}, headers=auth())
    assert again.status_code == 409  # a revoked key is not brought back by rotating it

    other = other_college_key(db_url)  # another college's admin key sees nothing of ours
    assert client.delete(f"/api/v1/keys/{rotated.json()['id']}", headers=auth(other)).status_code == 404
    assert rotated.json()["id"] not in {k["id"] for k in client.get("/api/v1/keys", headers=auth(other)).json()}
    bad = client.post("/api/v1/keys", json={"name": "x", "scopes": ["everything"]}, headers=auth())
    assert bad.status_code in (400, 422)
    assert client.post("/api/v1/keys", json={"name": "x", "scopes": []}, headers=auth()).status_code in (400, 422)


def test_people_scope_manages_examiners_and_only_admin_makes_admins(client: TestClient) -> None:
    people = key(client, "hr system", ["people"])["secret"]
    body = {"email": "head@college.kz", "full_name": "Head", "role": "admin", "password": PASSWORD}
    refused = client.post("/api/v1/users", json=body, headers=auth(people))
    assert refused.status_code == 403 and "`admin`" in refused.json()["error"]["message"]
    examiner = client.post(
        "/api/v1/users", json={**body, "email": "examiner@college.kz", "role": "examiner"}, headers=auth(people)
    )
    assert examiner.status_code == 201
    assert client.post("/api/v1/users", json=body, headers=auth()).status_code == 201  # the admin key may
    admin_id = next(
        p["id"] for p in client.get("/api/v1/users", headers=auth()).json()["items"] if p["role"] == "admin"
    )
    assert client.post(f"/api/v1/users/{admin_id}/disable", headers=auth(people)).status_code == 403


def test_a_disabled_person_is_signed_out_at_once_and_a_new_password_ends_sign_ins(client: TestClient) -> None:
    made = client.post(
        "/api/v1/users",
        json={"email": "examiner@college.kz", "full_name": "Examiner", "role": "examiner", "password": PASSWORD},
        headers=auth(),
    ).json()
    browser = TestClient(client.app)
    browser.app_state.update(client.app_state)
    form = {"email": "examiner@college.kz", "password": PASSWORD, "csrf_token": login_token(browser)}
    assert browser.post("/desk/login", data=form, follow_redirects=False).status_code == 303
    assert browser.get("/desk", headers=HTML).status_code == 200
    disabled = client.post(f"/api/v1/users/{made['id']}/disable", headers=auth())
    assert disabled.status_code == 200 and disabled.json()["disabled_at"] is not None
    assert browser.get("/desk/people", headers=HTML).status_code == 403  # the sign-in ended with the disabling
    form = {"email": "examiner@college.kz", "password": PASSWORD, "csrf_token": login_token(browser)}
    assert browser.post("/desk/login", data=form).status_code == 401  # the same answer as a wrong password
    assert client.post(f"/api/v1/users/{made['id']}/enable", headers=auth()).status_code == 200
    form = {"email": "examiner@college.kz", "password": PASSWORD, "csrf_token": login_token(browser)}
    assert browser.post("/desk/login", data=form, follow_redirects=False).status_code == 303
    new = "another long password"
    assert client.put(f"/api/v1/users/{made['id']}/password", json={"password": new}, headers=auth()).status_code == 204
    assert browser.get("/desk/exams/none", headers=HTML).status_code == 403  # signed out by the new password
    short = client.put(f"/api/v1/users/{made['id']}/password", json={"password": "short"}, headers=auth())
    assert short.status_code in (400, 422)
    form = {"email": "examiner@college.kz", "password": new, "csrf_token": login_token(browser)}
    assert browser.post("/desk/login", data=form, follow_redirects=False).status_code == 303


def test_an_address_of_another_college_is_never_revealed(client: TestClient, db_url: str) -> None:
    other = other_college_key(db_url)
    body = {"email": "teacher@mail.kz", "full_name": "Teacher", "role": "examiner", "password": PASSWORD}
    assert client.post("/api/v1/users", json=body, headers=auth(other)).status_code == 201
    ours = client.post("/api/v1/users", json={**body, "password": PASSWORD + "!"}, headers=auth())
    assert ours.status_code == 201  # the other college's person with this address says nothing to us
    twice = client.post("/api/v1/users", json=body, headers=auth())
    assert twice.status_code == 409 and "this college" in twice.json()["error"]["message"]
    browser = TestClient(client.app)
    browser.app_state.update(client.app_state)
    form = {"email": "teacher@mail.kz", "password": PASSWORD, "csrf_token": login_token(browser)}
    assert browser.post("/desk/login", data=form, follow_redirects=False).status_code == 303  # their password


def test_the_same_password_of_two_colleges_asks_which_college(client: TestClient, db_url: str) -> None:
    other = other_college_key(db_url)
    body = {"email": "teacher@mail.kz", "full_name": "Teacher", "role": "examiner", "password": PASSWORD}
    for secret in (KEY, other):
        assert client.post("/api/v1/users", json=body, headers=auth(secret)).status_code == 201
    browser = TestClient(client.app)
    browser.app_state.update(client.app_state)
    form = {"email": "teacher@mail.kz", "password": PASSWORD, "csrf_token": login_token(browser)}
    choice = browser.post("/desk/login", data=form, follow_redirects=False)
    assert choice.status_code == 200 and 'name="college"' in choice.text and "Another College" in choice.text
    college = choice.text.split('<option value="', 2)[1].split('"', 1)[0]
    form = {**form, "college": college, "csrf_token": login_token(browser)}
    assert browser.post("/desk/login", data=form, follow_redirects=False).status_code == 303


def test_the_demo_key_and_admin_live_only_while_the_server_runs_with_the_key(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    with_key = load_settings({}, data_dir=data, database_url=db_url, bootstrap_api_key=KEY)
    with TestClient(create_app(with_key)) as client:
        made = client.post(
            "/api/v1/users",
            json={"email": "real@college.kz", "full_name": "Real", "role": "examiner", "password": PASSWORD},
            headers=auth(),
        )
        assert made.status_code == 201
        lms = key(client, "moodle", ["xapi"])["secret"]
    engine = make_engine(with_key.db_url)
    try:  # the demo admin as `make run` seeds it: its password is the demo key
        with make_session_factory(engine).begin() as db:
            demo_college = authenticate(db, KEY)
            assert demo_college is not None
            add_person(db, demo_college.college_id, "admin@demo.kz", "Demo Admin", Role.ADMIN, KEY, demo=True)
    finally:
        engine.dispose()
    without = load_settings({}, data_dir=data, database_url=db_url)
    with caplog.at_level(logging.INFO, logger="web.app"), TestClient(create_app(without)) as client:
        assert client.get("/api/v1/exams", headers=auth()).status_code == 401  # the demo key is revoked
        assert client.get("/xapi/statements", headers={**auth(lms), "X-Experience-API-Version": "1.0.3"}).is_success
        form = {"email": "admin@demo.kz", "password": KEY, "csrf_token": login_token(client)}
        assert client.post("/desk/login", data=form).status_code == 401  # the demo admin is disabled
        form = {"email": "real@college.kz", "password": PASSWORD, "csrf_token": login_token(client)}
        assert client.post("/desk/login", data=form, follow_redirects=False).status_code == 303
    said = caplog.text
    assert "the demo key is revoked" in said and "the demo admin admin@demo.kz is disabled" in said
    assert "API key(s) work" in said and "no credentials" not in said
    with TestClient(create_app(with_key)) as client:  # started with the key again: the demo works again
        assert client.get("/api/v1/exams", headers=auth()).status_code == 200
        form = {"email": "admin@demo.kz", "password": KEY, "csrf_token": login_token(client)}
        assert client.post("/desk/login", data=form, follow_redirects=False).status_code == 303


def test_keys_from_the_command_line(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")},
        "PROCTOR_DATA_DIR": str(tmp_path / "data"),
    }

    def web(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "web", *arguments], env=env, cwd=ROOT, capture_output=True, text=True
        )

    misspelt = web("keys", "issue", "Aqtobe Politechnic", "moodle", "--scopes", "xapi")
    assert misspelt.returncode == 2 and "no college named 'Aqtobe Politechnic'" in misspelt.stderr
    assert "--new-college" in misspelt.stderr
    issued = web("keys", "issue", "Aqtobe Polytechnic", "moodle", "--scopes", "xapi,sessions", "--new-college")
    assert issued.returncode == 0, issued.stderr
    secret = issued.stdout.strip()
    assert len(secret) > 30 and "xapi,sessions" in issued.stderr and secret not in issued.stderr
    typo = web("keys", "issue", "Aqtobe Politechnic", "moodle")  # a typo never makes a second college
    assert typo.returncode == 2 and "'Aqtobe Polytechnic'" in typo.stderr
    listed = web("keys", "list", "Aqtobe Polytechnic")
    assert listed.returncode == 0 and secret[:12] in listed.stdout and "xapi,sessions" in listed.stdout
    assert secret not in listed.stdout
    rotated = web("keys", "rotate", secret[:12], "--keep-old-for", "1")
    assert rotated.returncode == 0 and rotated.stdout.strip() != secret
    assert "ends " in web("keys", "list").stdout
    revoked = web("keys", "revoke", rotated.stdout.strip()[:12])
    assert revoked.returncode == 0 and "revoked" in revoked.stderr
    bad = web("keys", "issue", "Aqtobe Polytechnic", "x", "--scopes", "root")
    assert bad.returncode == 2 and "unknown scope" in bad.stderr and "xapi" in bad.stderr
    unknown = web("keys", "revoke", "nosuchkey")
    assert unknown.returncode == 2 and "no key" in unknown.stderr
