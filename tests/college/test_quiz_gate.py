"""No proctoring, no attempt: the LMS quiz's password is kept encrypted, shown to the candidate only inside a session in
progress, and never in another answer, a log line or the ledger (which records each setting and each showing)."""

from __future__ import annotations

import json
import logging
import re
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from footprint.accounts import Scope, issue_key_for
from footprint.ledger.tables import EntryRow
from footprint.store import make_engine, make_session_factory
from proctor.sessions.gate import GateCipher, GateKeyError
from proctor.sessions.lifecycle import Status
from proctor.sessions.service import SessionService
from proctor.sessions.tables import CandidateRow, ExamRow, SessionRow
from tests.servers import free_port
from web.app import create_app
from web.settings import Settings

KEY = "quiz-gate-bootstrap-key-0123"
PASSWORD = "Weld!ng-Qu1z #7 «finál»"
"""What the teacher set on the Moodle quiz: spaces, punctuation and letters beyond ASCII, all printable."""
SCAN = {"room_scan": {"pre_exam": True}}


def bearer(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def settings_in(folder: Path, port: int = 8000) -> Settings:
    return Settings(data_dir=folder / "data", bootstrap_api_key=KEY, checkpoint_interval_s=3600, port=port)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_in(tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def service_of(client: TestClient) -> SessionService:
    return client.app_state["platform"].service  # type: ignore[no-any-return]


def new_exam(client: httpx.Client | TestClient, policy: dict[str, object] | None = None) -> str:
    body = {"title": "Final: Welding safety", "attestation": "final", "policy": policy or SCAN}
    made = client.post("/api/v1/exams", json=body, headers=bearer())
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def new_session(client: httpx.Client | TestClient, service: SessionService, exam_id: str) -> tuple[str, str]:
    """A candidate who came through the LMS (no reference photo: nothing here needs one) and their session; returns
    the session's id and the join token."""
    with service.store.write() as db:
        exam = db.get(ExamRow, exam_id)
        assert exam is not None
        count = len(db.scalars(select(CandidateRow.id).where(CandidateRow.exam_id == exam_id)).all())
        candidate = CandidateRow(
            id=f"cand-{exam_id[:8]}-{count}", exam_id=exam_id, external_id=f"S-{count}", full_name="Aigerim Nurlanovna"
        )
        db.add(candidate)
    made = client.post(f"/api/v1/exams/{exam_id}/sessions", json={"candidate_id": candidate.id}, headers=bearer())
    assert made.status_code == 201, made.text
    return str(made.json()["id"]), str(made.json()["join_url"]).rsplit("/", 1)[1]


def set_gate(client: httpx.Client | TestClient, exam_id: str, password: str) -> int:
    return client.put(f"/api/v1/exams/{exam_id}/gate", json={"password": password}, headers=bearer()).status_code


def reveal(client: httpx.Client | TestClient, token: str) -> Any:
    """The candidate's page asks for the quiz password (the answer: an httpx response, of either client)."""
    return client.get("/live/gate", headers={"Authorization": f"Bearer {token}"})


def walk(service: SessionService, session_id: str, *steps: str) -> None:
    """The live session's way (web/live/session.py): consent, the identity check, the room scan, the exam, its end."""
    live = service.live
    for step in steps:
        if step == "consent":
            live.consent(session_id, True, None, "terms-en-v1")
        elif step == "identity":
            live.move_to(session_id, Status.IDENTITY_CHECK, 0.0, {"reason": "the candidate connected"})
        elif step == "room_scan":
            live.set_identity(session_id, "verified")
            live.move_to(session_id, Status.ROOM_SCAN, 8.0, {"identity": "verified"}, ledger=True)
        elif step == "in_progress":
            result = {"number": 0, "kind": "pre_exam", "complete": True}
            live.move_to(session_id, Status.IN_PROGRESS, 30.0, {"room_scan": result}, ledger=True)
        elif step == "submitted":
            live.move_to(session_id, Status.SUBMITTED, 600.0, {"reason": "the candidate finished"})
        else:  # pragma: no cover
            raise AssertionError(step)


def ledger_entries(service: SessionService, *kinds: str) -> list[tuple[str, dict[str, object]]]:
    with service.sessions() as db:
        rows = db.scalars(select(EntryRow).where(EntryRow.kind.in_(kinds)).order_by(EntryRow.index)).all()
        return [(row.kind, json.loads(row.payload)) for row in rows]


def every_ledger_payload(service: SessionService) -> bytes:
    with service.sessions() as db:
        return b"\n".join(db.scalars(select(EntryRow.payload)).all())


def test_the_password_is_kept_encrypted_and_never_in_an_exam_answer(client: TestClient, settings: Settings) -> None:
    service = service_of(client)
    gated, plain = new_exam(client), new_exam(client)
    assert not settings.gate_key_file.exists()  # made on first use
    assert set_gate(client, gated, PASSWORD) == 204

    key = settings.gate_key_file
    assert key.parent == settings.data_dir and stat.S_IMODE(key.stat().st_mode) == 0o600
    with service.sessions() as db:
        secret = db.scalar(select(ExamRow.gate_secret).where(ExamRow.id == gated))
        assert db.scalar(select(ExamRow.gate_secret).where(ExamRow.id == plain)) is None
    assert secret is not None and secret != PASSWORD.encode()
    assert PASSWORD.encode() not in secret and "Weld" not in secret.decode("ascii")  # nothing of it shows
    assert GateCipher(key).decrypt(secret) == PASSWORD
    assert set_gate(client, gated, PASSWORD) == 204
    with service.sessions() as db:
        again = db.scalar(select(ExamRow.gate_secret).where(ExamRow.id == gated))
    assert again is not None and again != secret and GateCipher(key).decrypt(again) == PASSWORD  # a fresh IV

    one = client.get(f"/api/v1/exams/{gated}", headers=bearer())
    listed = client.get("/api/v1/exams", headers=bearer())
    other = client.get(f"/api/v1/exams/{plain}", headers=bearer())
    assert one.json()["gated"] is True and other.json()["gated"] is False
    assert {item["id"]: item["gated"] for item in listed.json()["items"]} == {gated: True, plain: False}
    for answer in (one, listed, other):
        assert PASSWORD not in answer.text and "Weld!ng" not in answer.text
        assert secret.decode("ascii") not in answer.text and again.decode("ascii") not in answer.text

    assert client.delete(f"/api/v1/exams/{gated}/gate", headers=bearer()).status_code == 204
    assert client.get(f"/api/v1/exams/{gated}", headers=bearer()).json()["gated"] is False
    assert client.delete(f"/api/v1/exams/{gated}/gate", headers=bearer()).status_code == 204  # none to remove: fine
    with service.sessions() as db:
        assert db.scalar(select(ExamRow.gate_secret).where(ExamRow.id == gated)) is None

    records = ledger_entries(service, "quiz_gate", "quiz_gate_revealed")
    assert records == [
        ("quiz_gate", {"exam": gated, "set": True}),
        ("quiz_gate", {"exam": gated, "set": True}),
        ("quiz_gate", {"exam": gated, "set": False}),  # the second removal changed nothing: not recorded
    ]
    assert PASSWORD.encode() not in every_ledger_payload(service)


def test_a_password_is_one_to_a_hundred_printable_characters_and_a_refusal_never_quotes_it(client: TestClient) -> None:
    exam_id = new_exam(client)
    url = f"/api/v1/exams/{exam_id}/gate"
    too_long = "Secret-" + "x" * 94
    for body in (
        {"password": ""},
        {"password": too_long},
        {"password": "Weld\ning"},
        {"password": "Weld\x00ing"},
        {"password": 12345},
        {"password": "Weld!ng", "hint": "x"},
        {},
    ):
        answer = client.put(url, json=body, headers=bearer())
        assert answer.status_code == 400, (body, answer.text)
        assert too_long not in answer.text and "Weld" not in answer.text
    assert client.put(url, json={"password": "x" * 100}, headers=bearer()).status_code == 204
    assert client.put(url, json={"password": "a b"}, headers=bearer()).status_code == 204


def test_the_candidate_is_shown_it_only_while_the_session_is_in_progress(client: TestClient) -> None:
    service = service_of(client)
    exam_id = new_exam(client)
    assert set_gate(client, exam_id, PASSWORD) == 204
    session_id, token = new_session(client, service, exam_id)

    for step in ("consent", "identity", "room_scan"):  # before: 409, with what to do
        before = reveal(client, token)
        assert before.status_code == 409, before.text
        assert "in progress" in before.json()["error"]["message"] and PASSWORD not in before.text
        walk(service, session_id, step)
    assert reveal(client, token).status_code == 409  # in the room scan still
    walk(service, session_id, "in_progress")

    shown = reveal(client, token)
    assert shown.status_code == 200 and shown.json() == {"password": PASSWORD}
    assert shown.headers["cache-control"] == "no-store"
    assert reveal(client, token).json() == {"password": PASSWORD}  # a reloaded page asks again: shown again

    assert reveal(client, "not-a-join-token").status_code == 401
    assert client.get("/live/gate").status_code == 401
    assert client.get("/live/gate", headers=bearer()).status_code == 401  # an API key is no join token

    walk(service, session_id, "submitted")
    after = reveal(client, token)
    assert after.status_code == 409 and "over" in after.json()["error"]["message"] and PASSWORD not in after.text

    records = ledger_entries(service, "quiz_gate_revealed")
    assert records == [("quiz_gate_revealed", {"session": session_id, "exam": exam_id})] * 2
    assert PASSWORD.encode() not in every_ledger_payload(service)


def test_an_exam_without_a_password_answers_404_and_so_does_one_whose_password_was_removed(client: TestClient) -> None:
    service = service_of(client)
    exam_id = new_exam(client, {"room_scan": {"pre_exam": False}})
    session_id, token = new_session(client, service, exam_id)
    walk(service, session_id, "consent", "identity")
    service.live.set_identity(session_id, "not_checked")  # no face came in time: the exam goes on all the same
    walk(service, session_id, "in_progress")
    none = reveal(client, token)
    assert none.status_code == 404 and "no quiz password" in none.json()["error"]["message"]
    assert set_gate(client, exam_id, PASSWORD) == 204
    assert reveal(client, token).json() == {"password": PASSWORD}  # no pre-exam scan in this exam's policy
    assert client.delete(f"/api/v1/exams/{exam_id}/gate", headers=bearer()).status_code == 204
    assert reveal(client, token).status_code == 404


def test_in_progress_without_the_steps_the_policy_asks_for_is_not_enough(client: TestClient) -> None:
    service = service_of(client)
    exam_id = new_exam(client)  # the policy asks for the pre-exam room scan
    assert set_gate(client, exam_id, PASSWORD) == 204
    session_id, token = new_session(client, service, exam_id)
    with service.store.write() as db:  # a row forced to in progress, past every step
        db.execute(update(SessionRow).where(SessionRow.id == session_id).values(status=Status.IN_PROGRESS.value))
    assert "proctoring terms" in reveal(client, token).json()["error"]["message"]
    with service.store.write() as db:
        db.execute(update(SessionRow).where(SessionRow.id == session_id).values(consent="accepted"))
    assert "identity check" in reveal(client, token).json()["error"]["message"]
    with service.store.write() as db:
        db.execute(update(SessionRow).where(SessionRow.id == session_id).values(identity="verified"))
    refused = reveal(client, token)
    assert refused.status_code == 409 and "room scan" in refused.json()["error"]["message"]
    assert ledger_entries(service, "quiz_gate_revealed") == []


def test_another_colleges_exam_is_not_found_and_a_key_without_sessions_is_refused(
    client: TestClient, settings: Settings
) -> None:
    exam_id = new_exam(client)
    url = f"/api/v1/exams/{exam_id}/gate"
    assert client.put(url, json={"password": PASSWORD}, headers=bearer()).status_code == 204
    engine = make_engine(settings.db_url)
    try:
        with make_session_factory(engine).begin() as db:
            theirs = issue_key_for(db, "Another College", "their LMS", list(Scope), new_college=True).secret
    finally:
        engine.dispose()
    assert client.put(url, json={"password": "theirs"}, headers=bearer(theirs)).status_code == 404
    assert client.delete(url, headers=bearer(theirs)).status_code == 404
    assert client.get(f"/api/v1/exams/{exam_id}", headers=bearer(theirs)).status_code == 404
    assert client.get(f"/api/v1/exams/{exam_id}", headers=bearer()).json()["gated"] is True  # still theirs alone

    made = client.post("/api/v1/keys", json={"name": "xAPI only", "scopes": ["xapi"]}, headers=bearer())
    assert made.status_code == 201, made.text
    xapi_only = made.json()["secret"]
    for answer in (
        client.put(url, json={"password": PASSWORD}, headers=bearer(xapi_only)),
        client.delete(url, headers=bearer(xapi_only)),
    ):
        assert answer.status_code == 403 and "`sessions`" in answer.text
    assert client.get(f"/api/v1/exams/{exam_id}", headers=bearer()).json()["gated"] is True
    assert client.put(url, json={"password": PASSWORD}).status_code == 401


def test_the_page_data_says_whether_the_exam_is_gated_never_the_password(client: TestClient) -> None:
    service = service_of(client)
    gated, plain = new_exam(client), new_exam(client)
    assert set_gate(client, gated, PASSWORD) == 204
    for exam_id, expected in ((gated, True), (plain, False)):
        session_id, token = new_session(client, service, exam_id)
        walk(service, session_id, "consent", "identity", "room_scan", "in_progress")  # even in progress
        page = client.get(f"/join/{token}", params={"lang": "en"})
        assert page.status_code == 200 and PASSWORD not in page.text
        found = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', page.text, re.S)
        assert found is not None
        assert json.loads(found.group(1))["gated"] is expected
        assert ('id="gate-box"' in page.text) is expected
        if expected:
            assert "Quiz password — enter it in the quiz when it asks" in page.text


def test_a_missing_key_says_so_instead_of_making_the_kept_passwords_unreadable(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    with TestClient(create_app(settings)) as client:
        service = service_of(client)
        first, second = new_exam(client), new_exam(client)
        assert set_gate(client, first, PASSWORD) == 204
        session_id, token = new_session(client, service, first)
        walk(service, session_id, "consent", "identity", "room_scan", "in_progress")
    settings.gate_key_file.unlink()  # a restore that forgot the key
    with TestClient(create_app(settings)) as client:
        refused = client.put(f"/api/v1/exams/{second}/gate", json={"password": "new"}, headers=bearer())
        assert refused.status_code == 503 and "gate.key) is missing" in refused.json()["error"]["message"]
        assert str(tmp_path) not in refused.text  # the operator's log names the file, not the answer
        assert not settings.gate_key_file.exists()  # no new key that would strand the first exam's password
        shown = reveal(client, token)
        assert shown.status_code == 503 and PASSWORD not in shown.text
        assert set_gate(client, first, "again") == 204
        assert reveal(client, token).json() == {"password": "again"}  # the one kept password, set again
    another = GateCipher(tmp_path / "another.key")
    another.encrypt("made on first use")
    with pytest.raises(GateKeyError, match="another key"):
        another.decrypt(GateCipher(settings.gate_key_file).encrypt("x"))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, SessionService]]:
    """The platform served by uvicorn as `python -m web` serves it: its own lines (the access log too) through the
    logging tree, at DEBUG; with its session service (for the live session's steps)."""
    settings = settings_in(tmp_path, port=free_port())
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=settings.port, log_level="debug", log_config=None
    )
    server = uvicorn.Server(config)
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
    levels = {name: logging.getLogger(name).level for name in names}
    thread = threading.Thread(target=server.run, name="gate-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{settings.port}", server.lifespan.state["platform"].service
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_the_password_is_in_no_log_line_of_the_whole_flow(
    served: tuple[str, SessionService], caplog: pytest.LogCaptureFixture
) -> None:
    url, service = served
    caplog.set_level(logging.DEBUG)
    with httpx.Client(base_url=url, timeout=60) as client:
        exam_id = new_exam(client)
        gate = f"/api/v1/exams/{exam_id}/gate"
        assert client.put(gate, json={"password": PASSWORD}, headers=bearer()).status_code == 204
        assert client.put(gate, content=json.dumps({"password": PASSWORD + "\n"}), headers=bearer()).status_code == 400
        assert client.put(gate, json={"password": PASSWORD, "x": 1}, headers=bearer()).status_code == 400
        assert client.get(f"/api/v1/exams/{exam_id}", headers=bearer()).status_code == 200
        session_id, token = new_session(client, service, exam_id)
        assert reveal(client, token).status_code == 409
        walk(service, session_id, "consent", "identity", "room_scan", "in_progress")
        assert reveal(client, token).json() == {"password": PASSWORD}
        walk(service, session_id, "submitted")
        assert reveal(client, token).status_code == 409
        assert client.delete(gate, headers=bearer()).status_code == 204
        time.sleep(0.5)  # the server thread's last access lines
    lines = [record.getMessage() for record in caplog.records]
    access = [line for line in lines if "/gate" in line]
    assert any(f'"PUT {gate} HTTP/1.1" 204' in line for line in access), access  # the access log was captured
    assert any('"GET /live/gate HTTP/1.1" 200' in line for line in access), access
    assert len(lines) > 20
    for record in caplog.records:
        seen = record.getMessage() + repr(record.args) + repr(record.__dict__)
        assert "Weld!ng" not in seen and "Qu1z" not in seen, record
    assert "Weld!ng" not in caplog.text and token not in caplog.text and KEY not in caplog.text
