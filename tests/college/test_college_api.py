"""The college API end to end with real models: exam → candidate → session → upload → events, score,
webhook, and the footprint statement provable in the ledger with only the public key."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from footprint.accounts import create_college, issue_key
from footprint.ledger import checkpoint as signed_note
from footprint.ledger.merkle import InclusionProof, leaf_hash, verify_inclusion
from footprint.store import make_engine
from proctor.sessions.statements import PROCTORING_RESULT
from proctor.sessions.tables import ChunkRow
from proctor.sessions.webhooks import SIGNATURE_HEADER, verify_signature
from tests.fixtures.scenarios import Scenario
from web.app import create_app
from web.settings import load_settings

KEY = "bootstrap-key-for-the-demo-college"


class Hook(BaseHTTPRequestHandler):
    received: list[tuple[bytes, str]] = []

    def do_POST(self) -> None:  # noqa: N802
        Hook.received.append((self.rfile.read(int(self.headers["Content-Length"])), self.headers[SIGNATURE_HEADER]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook_url() -> Iterator[str]:
    Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/proctoring"
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(
        {}, data_dir=tmp_path / "data", database_url=db_url, bootstrap_api_key=KEY, max_recording_bytes=3_000_000
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def other_college_key(db_url: str) -> str:
    engine = make_engine(db_url)
    with engine.begin() as connection:
        from sqlalchemy.orm import Session

        with Session(bind=connection) as db:
            college = create_college(db, "Another College")
            secret = issue_key(db, college, "their LMS").secret
            db.commit()
    engine.dispose()
    return secret


def enrol(client: TestClient, demo: Scenario) -> tuple[str, str, str]:
    exam = client.post("/api/v1/exams", json={"title": "Final: Welding safety", "attestation": "final"}, headers=auth())
    assert exam.status_code == 201, exam.text
    candidate = client.post(
        f"/api/v1/exams/{exam.json()['id']}/candidates",
        data={"external_id": "S-0042", "full_name": "Aigerim Nurlanovna"},
        files={"photo": ("reference.jpg", demo.reference.read_bytes(), "image/jpeg")},
        headers=auth(),
    )
    assert candidate.status_code == 201, candidate.text
    session = client.post(
        f"/api/v1/exams/{exam.json()['id']}/sessions", json={"candidate_id": candidate.json()["id"]}, headers=auth()
    )
    assert session.status_code == 201, session.text
    assert session.json()["join_url"].startswith("http")
    return exam.json()["id"], candidate.json()["id"], session.json()["id"]


def wait_analysed(client: TestClient, session_id: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/api/v1/sessions/{session_id}", headers=auth()).json()
        if body["analysis"] in ("done", "failed"):
            return body
        time.sleep(0.5)
    raise AssertionError("analysis did not finish in time")


@pytest.mark.slow
def test_exam_to_provable_result(client: TestClient, demo: Scenario, hook_url: str, tmp_path: Path) -> None:
    hook = client.put("/api/v1/webhook", json={"url": hook_url}, headers=auth()).json()
    _, _, session_id = enrol(client, demo)
    video = demo.video.read_bytes()
    upload = client.post(
        f"/api/v1/sessions/{session_id}/recording", files={"file": ("exam.mp4", video, "video/mp4")}, headers=auth()
    )
    assert upload.status_code == 202, upload.text
    assert upload.json()["recording_chunks"] == 3
    session = wait_analysed(client, session_id)
    assert session["analysis"] == "done" and session["status"] == "analysed"
    assert session["score"] > 0 and session["contributions"]
    events = client.get(f"/api/v1/sessions/{session_id}/events", headers=auth()).json()
    assert {"face_absent", "multiple_faces", "identity_mismatch", "speech_detected"} <= {e["type"] for e in events}
    evidence_url = next(e["evidence_url"] for e in events if e["evidence_url"])
    path = httpx.URL(evidence_url).path
    assert client.get(path, headers=auth()).content[:2] == b"\xff\xd8"
    assert client.get(path).status_code == 401  # media is never served without authorisation
    recording = client.get(f"/api/v1/sessions/{session_id}/recording", headers=auth())
    assert recording.status_code == 200 and recording.headers["content-type"] == "video/mp2t"
    playback = tmp_path / "playback.ts"
    playback.write_bytes(recording.content)
    from proctor.decode import probe

    assert probe(playback).duration_s == pytest.approx(29.8, abs=1.0)

    # the webhook got the signed summary
    deadline = time.monotonic() + 30
    while not Hook.received and time.monotonic() < deadline:
        time.sleep(0.2)
    body, header = Hook.received[0]
    assert verify_signature(hook["secret"], body, header, now=time.time())
    assert b'"session.analysed"' in body

    # the footprint statement is in the ledger, provable with only the public key
    statements = client.get(
        "/xapi/statements", params={"registration": session_id}, headers={**auth(), "X-Experience-API-Version": "1.0.3"}
    ).json()["statements"]
    assert [s["verb"]["id"] for s in statements] == ["http://adlnet.gov/expapi/verbs/attempted"]
    statement_id = statements[0]["id"]
    note = client.get("/ledger/checkpoint").text
    verifier = client.get("/ledger/public-key").text
    checkpoint = signed_note.verify(note, verifier)  # only the public key is needed from here on
    proof = client.get(
        "/ledger/proof/inclusion",
        params={"statementId": statement_id, "treeSize": checkpoint.tree_size},
        headers=auth(),
    ).json()
    leaf = base64.b64decode(proof["leaf"])
    assert json.loads(leaf)["id"] == statement_id
    assert json.loads(leaf)["result"]["extensions"][PROCTORING_RESULT]["session"] == session_id
    inclusion = InclusionProof(
        proof["leafIndex"], proof["treeSize"], tuple(base64.b64decode(p) for p in proof["auditPath"])
    )
    verify_inclusion(inclusion, leaf_hash(leaf), checkpoint.root_hash)

    verdict = client.post(
        f"/api/v1/sessions/{session_id}/verdict",
        json={"verdict": "annulled", "examiner": "examiner@college.kz", "note": "a second person"},
        headers=auth(),
    )
    assert verdict.status_code == 201 and verdict.json()["status"] == "annulled"
    assert verdict.json()["verdict"]["verdict"] == "annulled"


def test_bad_input_gets_a_clear_4xx_and_leaves_nothing(
    client: TestClient, demo: Scenario, media: Path, db_url: str
) -> None:
    exam_id, candidate_id, session_id = enrol(client, demo)
    for photo, reason in [("multi_face.jpg", "5 faces"), ("free-mountain-vector-01.jpg", "no face")]:
        answer = client.post(
            f"/api/v1/exams/{exam_id}/candidates",
            data={"external_id": photo, "full_name": "X"},
            files={"photo": (photo, (media / photo).read_bytes(), "image/jpeg")},
            headers=auth(),
        )
        assert answer.status_code == 422 and reason in answer.json()["error"]["message"]
    url = f"/api/v1/sessions/{session_id}/recording"
    cases = [
        (b"these are my notes", 422),
        (demo.video.read_bytes()[:40_000], 422),  # truncated
        (b"\0" * 3_500_000, 413),  # over PROCTOR_MAX_RECORDING_BYTES
    ]
    for content, expected in cases:
        answer = client.post(url, files={"file": ("exam.mp4", content, "video/mp4")}, headers=auth())
        assert answer.status_code == expected, answer.text
        assert set(answer.json()) == {"error"} and answer.json()["error"]["message"]
    assert client.get(f"/api/v1/sessions/{session_id}", headers={"Authorization": "Bearer wrong"}).status_code == 401
    other = other_college_key(db_url)
    for path in (f"/api/v1/exams/{exam_id}", f"/api/v1/sessions/{session_id}", f"/api/v1/sessions/{session_id}/events"):
        answer = client.get(path, headers=auth(other))
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "not_found"
    answer = client.post(f"/api/v1/exams/{exam_id}/sessions", json={"candidate_id": candidate_id}, headers=auth(other))
    assert answer.status_code == 404
    engine = make_engine(db_url)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ChunkRow)).scalar() == 0
    engine.dispose()
    assert client.get(f"/api/v1/sessions/{session_id}", headers=auth()).json()["status"] == "scheduled"


def test_retention_job_purges_old_recordings_at_start(demo: Scenario, media: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'retention.db'}"
    settings = load_settings({}, data_dir=tmp_path / "data", database_url=url, bootstrap_api_key=KEY, retention_days=30)
    with TestClient(create_app(settings)) as client:
        _, _, session_id = enrol(client, demo)
        clip = (media / "single_face.mp4").read_bytes()
        answer = client.post(
            f"/api/v1/sessions/{session_id}/recording", files={"file": ("clip.mp4", clip, "video/mp4")}, headers=auth()
        )
        assert answer.status_code == 202
        assert client.get(f"/api/v1/sessions/{session_id}/recording", headers=auth()).status_code == 200
    engine = make_engine(url)
    with engine.begin() as connection:  # the session was held 31 days ago
        connection.execute(
            text("UPDATE exam_sessions SET created_at = :at"), {"at": datetime.now(UTC) - timedelta(days=31)}
        )
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if client.get(f"/api/v1/sessions/{session_id}/recording", headers=auth()).status_code == 404:
                break
            time.sleep(0.2)
        assert client.get(f"/api/v1/sessions/{session_id}/recording", headers=auth()).status_code == 404
    with engine.connect() as connection:
        purges = connection.execute(text("SELECT count(*) FROM ledger_entries WHERE kind = 'retention_purge'"))
        assert purges.scalar_one() == 1
    engine.dispose()
    assert not list((tmp_path / "data" / "media").rglob("*.ts"))
