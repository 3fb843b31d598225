"""The college API end to end with real models: exam → candidate → session → upload → events at the right
times, score, webhook, and the footprint statement provable in the ledger with only the public key."""

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

from footprint.accounts import ALL_SCOPES, create_college, issue_key
from footprint.ledger import checkpoint as signed_note
from footprint.ledger.merkle import InclusionProof, leaf_hash, verify_inclusion
from footprint.store import make_engine
from proctor.analyze import analyze_recording
from proctor.decode import iter_frames, probe
from proctor.policy import policy_from_dict
from proctor.sessions.statements import PROCTORING_RESULT
from proctor.sessions.tables import ChunkRow, UploadRow
from proctor.sessions.webhooks import SIGNATURE_HEADER, verify_signature
from tests.fixtures.hostile import claimed_size
from tests.fixtures.scenarios import Scenario, build_demo_parts, build_rotated_demo, build_two_people
from web.app import create_app
from web.settings import load_settings

KEY = "bootstrap-key-for-the-demo-college"
TIME_TOLERANCE_S = 0.5
EXPECTED = ("face_absent", "multiple_faces", "identity_mismatch", "speech_detected")


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
        {"PROCTOR_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8"},  # the webhook receiver is on loopback
        data_dir=tmp_path / "data",
        database_url=db_url,
        bootstrap_api_key=KEY,
        max_recording_bytes=3_000_000,
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
            secret = issue_key(db, college, "their LMS", scopes=ALL_SCOPES).secret
            db.commit()
    engine.dispose()
    return secret


def enrol(client: TestClient, demo: Scenario, external_id: str = "S-0042") -> tuple[str, str, str]:
    exam = client.post("/api/v1/exams", json={"title": "Final: Welding safety", "attestation": "final"}, headers=auth())
    assert exam.status_code == 201, exam.text
    candidate = client.post(
        f"/api/v1/exams/{exam.json()['id']}/candidates",
        data={"external_id": external_id, "full_name": "Aigerim Nurlanovna"},
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


def upload(client: TestClient, session_id: str, path: Path, **headers: str) -> httpx.Response:
    return client.post(
        f"/api/v1/sessions/{session_id}/recording",
        files={"file": (path.name, path.read_bytes(), "video/mp4")},
        headers={**auth(), **headers},
    )


def wait_analysed(client: TestClient, session_id: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/api/v1/sessions/{session_id}", headers=auth()).json()
        if body["analysis"] in ("done", "failed"):
            return body
        assert body["analysis_progress"] is None or 0.0 <= body["analysis_progress"] <= 1.0
        time.sleep(0.5)
    raise AssertionError("analysis did not finish in time")


def assert_event_times(events: list[dict[str, Any]], truth: Scenario) -> None:
    """Each expected event starts and ends within TIME_TOLERANCE_S of its span of the ground truth."""
    for event_type in EXPECTED:
        span = truth.span(event_type)
        found = [
            e for e in events if e["type"] == event_type and e["start_s"] < span.end_s and e["end_s"] > span.start_s
        ]
        assert len(found) == 1, (event_type, found)
        event = found[0]
        assert event["start_s"] == pytest.approx(span.start_s, abs=TIME_TOLERANCE_S), (event_type, event, span)
        assert event["end_s"] == pytest.approx(span.end_s, abs=TIME_TOLERANCE_S), (event_type, event, span)
    end = truth.duration_s + TIME_TOLERANCE_S
    assert all(e["end_s"] <= end for e in events), "an event lies past the end of the recording"
    assert not [e for e in events if e["type"] in ("audio_lost", "video_lost")], "no stream was lost"


@pytest.mark.slow
def test_exam_to_provable_result(
    client: TestClient, demo: Scenario, hook_url: str, tmp_path: Path, db_url: str
) -> None:
    hook = client.put("/api/v1/webhook", json={"url": hook_url}, headers=auth()).json()
    _, _, session_id = enrol(client, demo)
    answer = upload(client, session_id, demo.video)
    assert answer.status_code == 202, answer.text
    assert answer.json()["recording_chunks"] == int(demo.duration_s // 10) + 1
    assert answer.json()["analysis"] in ("queued", "running")  # the worker may have taken it already
    assert 0.0 <= answer.json()["analysis_progress"] <= 1.0
    session = wait_analysed(client, session_id)
    assert session["analysis"] == "done" and session["status"] == "analysed"
    assert session["analysis_progress"] == 1.0 and session["analysis_eta_s"] is None
    assert session["score"] > 0 and session["contributions"]
    events = client.get(f"/api/v1/sessions/{session_id}/events", headers=auth()).json()
    assert_event_times(events, demo)
    evidence_url = next(e["evidence_url"] for e in events if e["evidence_url"])
    path = httpx.URL(evidence_url).path
    assert client.get(path, headers=auth()).content[:2] == b"\xff\xd8"
    assert client.get(path).status_code == 401  # media is never served without authorisation
    recording = client.get(f"/api/v1/sessions/{session_id}/recording", headers=auth())
    assert recording.status_code == 200 and recording.headers["content-type"] == "video/mp4"
    assert recording.headers["content-disposition"] == f'inline; filename="session-{session_id}-camera.mp4"'
    playback = tmp_path / "playback.mp4"
    playback.write_bytes(recording.content)
    assert probe(playback).duration_s == pytest.approx(demo.duration_s, abs=0.5)
    assert len(list(iter_frames(playback, 1.0))) == pytest.approx(demo.duration_s, abs=2)  # it plays through
    size = len(recording.content)
    part = client.get(f"/api/v1/sessions/{session_id}/recording", headers={**auth(), "Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == recording.content[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{size}"
    tail = client.get(f"/api/v1/sessions/{session_id}/recording", headers={**auth(), "Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == recording.content[-500:]
    past = client.get(f"/api/v1/sessions/{session_id}/recording", headers={**auth(), "Range": f"bytes={size}-"})
    assert past.status_code == 416

    # the webhook got the signed summary
    deadline = time.monotonic() + 30
    while not Hook.received and time.monotonic() < deadline:
        time.sleep(0.2)
    body, header = Hook.received[0]
    assert verify_signature(hook["secret"], body, header, now=time.time())
    assert b'"session.analysed"' in body

    # the footprint statement is in the college's store and in the ledger, provable with only the public key
    xapi = {"X-Experience-API-Version": "1.0.3"}
    statements = client.get("/xapi/statements", params={"registration": session_id}, headers={**auth(), **xapi}).json()[
        "statements"
    ]
    assert [s["verb"]["id"] for s in statements] == ["http://adlnet.gov/expapi/verbs/attempted"]
    other = other_college_key(db_url)
    theirs = client.get("/xapi/statements", params={"registration": session_id}, headers={**auth(other), **xapi})
    assert theirs.json()["statements"] == []
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

    for verdict, note_text in (("annulled", "a second person"), ("confirmed", "the second person was a proctor")):
        given = client.post(
            f"/api/v1/sessions/{session_id}/verdict",
            json={"verdict": verdict, "examiner": "examiner@college.kz", "note": note_text},
            headers=auth(),
        )
        assert given.status_code == 201 and given.json()["status"] == verdict
    history = client.get(f"/api/v1/sessions/{session_id}/verdicts", headers=auth()).json()
    assert [(d["verdict"], d["note"]) for d in history] == [
        ("annulled", "a second person"),
        ("confirmed", "the second person was a proctor"),
    ]
    assert client.get(f"/api/v1/sessions/{session_id}/verdicts", headers=auth(other)).status_code == 404


@pytest.mark.slow
def test_a_recording_uploaded_in_two_parts_keeps_its_event_times(
    client: TestClient, demo: Scenario, tmp_path: Path
) -> None:
    _, _, session_id = enrol(client, demo)
    first, second = build_demo_parts(tmp_path / "parts", cut_s=15.0)  # the cut falls inside the second person's visit
    assert upload(client, session_id, first).status_code == 202
    assert upload(client, session_id, second).status_code == 202
    session = wait_analysed(client, session_id)
    assert session["analysis"] == "done", session["analysis_error"]
    assert session["recording_seconds"] == pytest.approx(demo.duration_s, abs=0.2)
    events = client.get(f"/api/v1/sessions/{session_id}/events", headers=auth()).json()
    assert_event_times(events, demo)


@pytest.mark.slow
def test_an_upload_gives_the_events_proctor_analyze_gives_for_the_same_file(
    client: TestClient, demo: Scenario, tmp_path: Path
) -> None:
    """One pipeline: a second person in view, keyframes off whole milliseconds, kept as 10 s chunks."""
    scenario = build_two_people(tmp_path / "two", keyframe_every=37, name="two_people_37.mp4")
    exam_id, _, session_id = enrol(client, demo)
    assert upload(client, session_id, scenario.video).status_code == 202
    session = wait_analysed(client, session_id)
    assert session["analysis"] == "done", session["analysis_error"]
    assert session["recording_chunks"] == 2  # chunks start at keyframes: 0 and 12.333… s
    events = client.get(f"/api/v1/sessions/{session_id}/events", headers=auth()).json()
    policy = policy_from_dict(client.get(f"/api/v1/exams/{exam_id}", headers=auth()).json()["policy"])
    offline = analyze_recording(scenario.video, demo.reference, policy).events
    assert [(e["type"], e["severity"]) for e in events] == [(e.type.value, e.severity.value) for e in offline]
    for got, want in zip(events, offline, strict=True):
        assert got["start_s"] == pytest.approx(want.start_s, abs=0.1) and got["end_s"] == pytest.approx(
            want.end_s, abs=0.1
        ), (got, want)


@pytest.mark.slow
def test_a_phone_recording_is_analysed_upright(client: TestClient, demo: Scenario, tmp_path: Path) -> None:
    rotated = build_rotated_demo(tmp_path / "rotated", rotation=-90)
    assert probe(rotated.video).rotation == -90 and probe(rotated.video).width == 640
    _, _, session_id = enrol(client, demo)
    assert upload(client, session_id, rotated.video).status_code == 202
    session = wait_analysed(client, session_id)
    assert session["analysis"] == "done", session["analysis_error"]
    events = client.get(f"/api/v1/sessions/{session_id}/events", headers=auth()).json()
    assert_event_times(events, rotated)


@pytest.mark.slow
def test_a_retried_upload_is_answered_with_the_first(
    client: TestClient, demo: Scenario, media: Path, db_url: str
) -> None:
    _, _, session_id = enrol(client, demo)
    first = upload(client, session_id, demo.video)
    assert first.status_code == 202 and "Idempotent-Replayed" not in first.headers
    retry = upload(client, session_id, demo.video)  # the client never saw the first answer and sends it again
    assert retry.status_code == 202 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["recording_chunks"] == first.json()["recording_chunks"]
    session = wait_analysed(client, session_id)
    assert session["recording_seconds"] == pytest.approx(demo.duration_s, abs=0.2)
    events = client.get(f"/api/v1/sessions/{session_id}/events", headers=auth()).json()
    assert_event_times(events, demo)  # each event once, at its time

    keyed = upload(client, session_id, media / "single_face.mp4", **{"Idempotency-Key": "lms-retry-7"})
    assert keyed.status_code == 202
    clash = upload(client, session_id, media / "no_face.mp4", **{"Idempotency-Key": "lms-retry-7"})
    assert clash.status_code == 409 and "Idempotency-Key" in clash.json()["error"]["message"]
    engine = make_engine(db_url)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(UploadRow)).scalar() == 2
    engine.dispose()


def test_bad_input_gets_a_clear_4xx_and_leaves_nothing(
    client: TestClient, demo: Scenario, media: Path, db_url: str, tmp_path: Path
) -> None:
    exam_id, candidate_id, session_id = enrol(client, demo)
    bomb = claimed_size((media / "obama.jpg").read_bytes(), 20_000, 20_000)
    for photo, content, reason in [
        ("multi_face.jpg", (media / "multi_face.jpg").read_bytes(), "5 faces"),
        ("free-mountain-vector-01.jpg", (media / "free-mountain-vector-01.jpg").read_bytes(), "no face"),
        ("bomb.jpg", bytes(bomb), "20000×20000"),
    ]:
        answer = client.post(
            f"/api/v1/exams/{exam_id}/candidates",
            data={"external_id": photo, "full_name": "X"},
            files={"photo": (photo, content, "image/jpeg")},
            headers=auth(),
        )
        assert answer.status_code == 422 and reason in answer.json()["error"]["message"], answer.text
    url = f"/api/v1/sessions/{session_id}/recording"
    cases = [
        (b"these are my notes", 422, "not a readable"),
        (demo.video.read_bytes()[:40_000], 422, "not a readable"),  # truncated before its index
        ((media / "obama.jpg").read_bytes(), 422, "still image"),
        (b"\0" * 3_500_000, 413, "larger than"),  # over PROCTOR_MAX_RECORDING_BYTES
    ]
    data_dir = str(tmp_path / "data")
    for content, expected, reason in cases:
        answer = client.post(url, files={"file": ("exam.mp4", content, "video/mp4")}, headers=auth())
        assert answer.status_code == expected, answer.text
        message = answer.json()["error"]["message"]
        assert set(answer.json()) == {"error"} and reason in message, message
        assert data_dir not in message and ".upload" not in message and ".incoming" not in message
    assert client.get(f"/api/v1/sessions/{session_id}", headers={"Authorization": "Bearer wrong"}).status_code == 401
    other = other_college_key(db_url)
    for path in (
        f"/api/v1/exams/{exam_id}",
        f"/api/v1/sessions/{session_id}",
        f"/api/v1/sessions/{session_id}/events",
        f"/api/v1/exams/{exam_id}/sessions",
        f"/api/v1/exams/{exam_id}/candidates",
        f"/api/v1/sessions/{session_id}/recording",
    ):
        answer = client.get(path, headers=auth(other))
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "not_found"
    answer = client.post(f"/api/v1/exams/{exam_id}/sessions", json={"candidate_id": candidate_id}, headers=auth(other))
    assert answer.status_code == 404
    assert upload(client, session_id, demo.video, Authorization=f"Bearer {other}").status_code == 404
    engine = make_engine(db_url)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ChunkRow)).scalar() == 0
    engine.dispose()
    assert client.get(f"/api/v1/sessions/{session_id}", headers=auth()).json()["status"] == "scheduled"
    assert not [p for p in (tmp_path / "data" / "media").rglob("*") if p.is_file() and p.suffix in (".ts", ".mkv")]


def test_lists_are_paged_filtered_and_the_colleges_own(client: TestClient, demo: Scenario, db_url: str) -> None:
    exam_id, first_candidate, _ = enrol(client, demo, "S-1")
    second = client.post(
        f"/api/v1/exams/{exam_id}/candidates",
        data={"external_id": "S-2", "full_name": "Dana Seitkali"},
        files={"photo": ("reference.jpg", demo.reference.read_bytes(), "image/jpeg")},
        headers=auth(),
    ).json()
    client.post(f"/api/v1/exams/{exam_id}/sessions", json={"candidate_id": second["id"]}, headers=auth())
    client.post("/api/v1/exams", json={"title": "Interim: Physics", "attestation": "interim"}, headers=auth())

    exams = client.get("/api/v1/exams", params={"limit": 1}, headers=auth()).json()
    assert (exams["total"], len(exams["items"]), exams["items"][0]["title"]) == (2, 1, "Interim: Physics")
    following = client.get(exams["next"], headers=auth()).json()
    assert [e["id"] for e in following["items"]] == [exam_id] and following["next"] is None
    finals = client.get("/api/v1/exams", params={"attestation": "final"}, headers=auth()).json()
    assert [e["id"] for e in finals["items"]] == [exam_id]
    candidates = client.get(f"/api/v1/exams/{exam_id}/candidates", headers=auth()).json()
    assert [c["external_id"] for c in candidates["items"]] == ["S-1", "S-2"]
    one = client.get(f"/api/v1/exams/{exam_id}/candidates", params={"external_id": "S-2"}, headers=auth()).json()
    assert [c["id"] for c in one["items"]] == [second["id"]]
    sessions = client.get(f"/api/v1/exams/{exam_id}/sessions", headers=auth()).json()
    assert sessions["total"] == 2 and {s["status"] for s in sessions["items"]} == {"scheduled"}
    assert {s["candidate_id"] for s in sessions["items"]} == {first_candidate, second["id"]}
    none = client.get(f"/api/v1/exams/{exam_id}/sessions", params={"status": "analysed"}, headers=auth()).json()
    assert none["items"] == [] and none["total"] == 0
    assert client.get("/api/v1/exams", params={"limit": 0}, headers=auth()).status_code == 400
    other = other_college_key(db_url)
    assert client.get("/api/v1/exams", headers=auth(other)).json()["items"] == []


def test_retention_purges_old_recordings_before_the_server_answers(demo: Scenario, media: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'retention.db'}"
    settings = load_settings({}, data_dir=tmp_path / "data", database_url=url, bootstrap_api_key=KEY, retention_days=30)
    with TestClient(create_app(settings)) as client:
        _, _, session_id = enrol(client, demo)
        assert upload(client, session_id, media / "single_face.mp4").status_code == 202
        assert client.get(f"/api/v1/sessions/{session_id}/recording", headers=auth()).status_code == 200
    engine = make_engine(url)
    with engine.begin() as connection:  # the session was held 31 days ago
        connection.execute(
            text("UPDATE exam_sessions SET created_at = :at"), {"at": datetime.now(UTC) - timedelta(days=31)}
        )
    with TestClient(create_app(settings)) as client:  # the first round runs at start, before any answer
        answer = client.get(f"/api/v1/sessions/{session_id}/recording", headers=auth())
        assert answer.status_code == 404 and "no recording" in answer.json()["error"]["message"]
    with engine.connect() as connection:
        purges = connection.execute(text("SELECT count(*) FROM ledger_entries WHERE kind = 'retention_purge'"))
        assert purges.scalar_one() == 1
    engine.dispose()
    assert not list((tmp_path / "data" / "media").rglob("*.ts"))


def test_another_colleges_objects_and_unknown_ids_get_the_same_answer(
    client: TestClient, demo: Scenario, db_url: str
) -> None:
    """Nothing in a 404 tells "not yours" from "does not exist" (no exam id of another college's session)."""
    exam_id, candidate_id, session_id = enrol(client, demo)
    other = other_college_key(db_url)
    unknown = "00000000-0000-4000-8000-000000000000"
    routes = [
        ("GET", "/api/v1/sessions/{}"),
        ("GET", "/api/v1/sessions/{}/events"),
        ("GET", "/api/v1/sessions/{}/recording"),
        ("GET", "/api/v1/sessions/{}/verdicts"),
        ("POST", "/api/v1/sessions/{}/analysis"),
        ("GET", "/api/v1/sessions/{}/events/0/evidence"),
        ("GET", "/api/v1/exams/{}"),
        ("GET", "/api/v1/exams/{}/candidates"),
        ("GET", "/api/v1/exams/{}/sessions"),
        ("GET", "/api/v1/exams/{}/examiners"),
    ]
    for method, route in routes:
        theirs = exam_id if "/exams/" in route else session_id
        foreign = client.request(method, route.format(theirs), headers=auth(other))
        missing = client.request(method, route.format(unknown), headers=auth(other))
        assert foreign.status_code == missing.status_code == 404, (route, foreign.text, missing.text)
        assert foreign.text.replace(theirs, unknown) == missing.text, (route, foreign.text, missing.text)
        if "/sessions/" in route:
            assert exam_id not in foreign.text and candidate_id not in foreign.text
