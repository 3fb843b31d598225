"""Reviewing on the desk, on SQLite and PostgreSQL: decisions on events and verdicts are ledger records with the
examiner's identity and xAPI statements in the learner's footprint (never another college's); a verdict is never
changed in place; new weights re-score every session without re-analysis; the exam page ranks the sessions still to
review first; the protocol PDF carries the names, the decisions and their proofs."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select, update

from footprint.ledger.tables import EntryRow
from footprint.people import Role
from footprint.store import make_engine, make_session_factory
from footprint.verify import check_inclusion
from proctor.events.vocabulary import SCORED
from proctor.review.access import Reviewer
from proctor.review.decisions import Decisions, ReviewAction
from proctor.review.protocol import ProtocolData, protocol_data
from proctor.sessions.clock import db_time
from proctor.sessions.parts import RecordingPart
from proctor.sessions.statements import FLAG_REVIEWED, NAMESPACE, PROCTORING_RESULT
from proctor.sessions.tables import EventRow, SessionRow
from tests.desk.desk_client import HTML, sign_in
from tests.desk.world import KAZAKH_NAME, RUSSIAN_EXAMINER, RUSSIAN_NAME, World, build_world, upload_of
from tests.fixtures.live_media import webm_of
from tests.fixtures.scenarios import Scenario
from web.app import create_app
from web.platform import build_session_service
from web.services import build_services

XAPI = {"X-Experience-API-Version": "1.0.3"}


@pytest.fixture
def world_on(db_url: str, tmp_path: Path, demo: Scenario, built_world: World) -> World:
    """The desk world on this test's database (SQLite or PostgreSQL), with the demo's analysis reused."""
    return build_world(tmp_path / "data", demo, built_world.analysis, db_url)


@pytest.fixture
def app(world_on: World) -> Iterator[TestClient]:
    with TestClient(create_app(world_on.settings)) as client:
        yield client


def ledger_records(world: World, kind: str) -> list[dict[str, Any]]:
    engine = make_engine(world.settings.db_url)
    try:
        with engine.connect() as db:
            rows = db.execute(select(EntryRow.payload).where(EntryRow.kind == kind).order_by(EntryRow.index)).all()
    finally:
        engine.dispose()
    return [json.loads(bytes(row.payload)) for row in rows]


def statements(client: TestClient, key: str, registration: str) -> list[dict[str, Any]]:
    answer = client.get(
        "/xapi/statements", params={"registration": registration}, headers={**XAPI, "Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["statements"])


def test_decisions_are_provable_records_in_the_learners_footprint(app: TestClient, world_on: World) -> None:
    world = world_on
    session = world.sessions_a[0]
    csrf = sign_in(app, world.examiner_a.email)
    review = f"/desk/api/sessions/{session}/events/{{seq}}/review"
    sent = [(0, "dismissed", ""), (1, "confirmed", "Екінші адам көрінеді"), (2, "noted", "ask about the phone")]
    answers = []
    for seq, action, note in sent:
        answer = app.post(review.format(seq=seq), json={"action": action, "note": note}, headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 201, answer.text
        answers.append(answer.json())
    assert (
        app.post(review.format(seq=99), json={"action": "confirmed"}, headers={"X-CSRF-Token": csrf}).status_code == 404
    )
    empty_note = app.post(review.format(seq=2), json={"action": "noted", "note": " "}, headers={"X-CSRF-Token": csrf})
    assert empty_note.status_code == 422

    records = ledger_records(world, "event_review")
    assert [(r["event"], r["action"], r["note"]) for r in records] == sent
    assert {r["examiner_id"] for r in records} == {world.examiner_a.id}
    assert {r["examiner"] for r in records} == {RUSSIAN_EXAMINER}
    assert [a["ledger_index"] for a in answers] == sorted(a["ledger_index"] for a in answers)

    verdict = f"/desk/sessions/{session}/verdict"
    refused = app.post(verdict, data={"verdict": "annulled", "reason": "  ", "csrf_token": csrf}, headers=HTML)
    assert refused.status_code == 422 and ledger_records(world, "proctoring_verdict") == []
    for chosen, reason in (("annulled", "Екінші адам көмектесті"), ("confirmed", "the second person was the proctor")):
        given = app.post(
            verdict,
            data={"verdict": chosen, "reason": reason, "csrf_token": csrf},
            headers=HTML,
            follow_redirects=False,
        )
        assert given.status_code == 303
    verdicts = ledger_records(world, "proctoring_verdict")
    assert [(v["verdict"], v["note"], v["examiner_id"]) for v in verdicts] == [
        ("annulled", "Екінші адам көмектесті", world.examiner_a.id),
        ("confirmed", "the second person was the proctor", world.examiner_a.id),
    ]
    page = app.get(f"/desk/sessions/{session}", headers=HTML).text
    history = re.findall(r'<li data-verdict="(\w+)">', page)
    assert history == ["annulled", "confirmed"]  # the change is a new decision; the first is still there

    found = statements(app, world.key_a, session)
    flags = [s for s in found if s["verb"]["id"] == FLAG_REVIEWED["id"]]
    assert len(flags) == 3
    for flag in flags:
        assert flag["actor"]["name"] == KAZAKH_NAME  # the learner's footprint
        assert flag["context"]["instructor"]["account"]["name"] == world.examiner_a.id
        assert flag["context"]["instructor"]["name"] == RUSSIAN_EXAMINER
    outcome = {s["result"]["extensions"][PROCTORING_RESULT]["action"]: s["result"] for s in flags}
    assert outcome["confirmed"]["success"] is True and outcome["dismissed"]["success"] is False
    assert "success" not in outcome["noted"] and outcome["noted"]["response"] == "ask about the phone"
    completed = [s for s in found if s["verb"]["id"].endswith("/completed")]
    assert [s["result"]["extensions"][PROCTORING_RESULT]["verdict"] for s in completed] == ["confirmed", "annulled"]
    assert all(s["context"]["instructor"]["account"]["name"] == world.examiner_a.id for s in completed)
    assert statements(app, world.key_b, session) == []  # another college sees none of it


def test_new_weights_re_score_every_session_without_re_analysis(app: TestClient, world_on: World) -> None:
    world = world_on
    engine = make_engine(world.settings.db_url)
    db_sessions = make_session_factory(engine)

    def state() -> dict[str, tuple[float | None, int, int]]:
        with db_sessions() as db:
            rows = db.scalars(select(SessionRow).where(SessionRow.exam_id == world.exam_a)).all()
            return {
                r.id: (
                    r.score,
                    r.analysis_run,
                    len(db.scalars(select(EventRow).where(EventRow.session_id == r.id)).all()),
                )
                for r in rows
            }

    before = state()
    weights = {f"weight.{t.value}": "0" for t in SCORED} | {"weight.identity_mismatch": "2.5"}
    examiner = TestClient(app.app)
    examiner.app_state.update(app.app_state)
    csrf = sign_in(examiner, world.examiner_a.email)
    refused = examiner.post(f"/desk/exams/{world.exam_a}/weights", data={**weights, "csrf_token": csrf}, headers=HTML)
    assert refused.status_code == 403 and state() == before
    csrf = sign_in(app, world.admin_a.email)
    changed = app.post(
        f"/desk/exams/{world.exam_a}/weights", data={**weights, "csrf_token": csrf}, follow_redirects=False
    )
    assert changed.status_code == 303
    after = state()
    with db_sessions() as db:
        for session_id in world.sessions_a:
            row = db.get(SessionRow, session_id)
            assert row is not None and row.report is not None
            events = db.scalars(
                select(EventRow).where(EventRow.session_id == session_id, EventRow.type == "identity_mismatch")
            ).all()
            share = sum(e.end_s - e.start_s for e in events) / float(row.report["analysed_duration_s"])
            expected = min(100.0, 100.0 * share * 2.5)  # the README's formula, from the stored events
            assert after[session_id][0] == pytest.approx(expected, abs=0.01)
            assert after[session_id][1:] == before[session_id][1:]  # the same analysis run and events
    engine.dispose()
    (record,) = ledger_records(world, "exam_weighting")
    assert record["by"] == world.admin_a.id and record["weights"]["per_type"]["identity_mismatch"] == 2.5
    assert set(record["scores"]) == set(world.sessions_a)


def test_the_exam_page_puts_the_sessions_to_review_first(app: TestClient, world_on: World) -> None:
    world = world_on
    csrf = sign_in(app, world.examiner_a.email)
    first, second = world.sessions_a
    decided = app.post(
        f"/desk/sessions/{first}/verdict", data={"verdict": "confirmed", "csrf_token": csrf}, follow_redirects=False
    )
    assert decided.status_code == 303
    page = app.get(f"/desk/exams/{world.exam_a}", headers=HTML).text
    order = re.findall(r'<tr data-session-id="([^"]+)"', page)
    assert order == [second, first, world.scheduled_a]  # to review, then decided, then not analysed
    assert re.search(rf'data-session-id="{second}" data-band="red" data-to-review="true"', page)
    assert RUSSIAN_NAME in page and KAZAKH_NAME in page
    only = app.get(f"/desk/exams/{world.exam_a}", params={"to_review": "true"}, headers=HTML).text
    assert re.findall(r'<tr data-session-id="([^"]+)"', only) == [second]
    typed = app.get(f"/desk/exams/{world.exam_a}", params={"type": "copy_paste"}, headers=HTML).text
    assert re.findall(r'<tr data-session-id="([^"]+)"', typed) == []  # nobody copied or pasted
    green = app.get(f"/desk/exams/{world.exam_a}", params={"band": "green"}, headers=HTML).text
    assert re.findall(r'<tr data-session-id="([^"]+)"', green) == []


def _protocol_data(world: World, session: str) -> ProtocolData:
    services = build_services(world.settings)
    try:
        store = build_session_service(services).store
        examiner = Reviewer(
            world.examiner_a.id,
            world.college_a,
            RUSSIAN_EXAMINER,
            world.examiner_a.email,
            Role.EXAMINER,
        )
        return protocol_data(store, examiner, session)
    finally:
        services.engine.dispose()


def test_the_protocol_names_everyone_and_proves_every_decision(app: TestClient, world_on: World) -> None:
    world = world_on
    session = world.sessions_a[0]
    csrf = sign_in(app, world.examiner_a.email)
    app.post(
        f"/desk/api/sessions/{session}/events/1/review", json={"action": "confirmed"}, headers={"X-CSRF-Token": csrf}
    )
    app.post(
        f"/desk/sessions/{session}/verdict",
        data={"verdict": "retake", "reason": "Связь прерывалась", "csrf_token": csrf},
        follow_redirects=False,
    )
    for language, title in (("kk", "хаттамасы"), ("ru", "Протокол"), ("en", "Protocol")):
        if language == "en":  # the ledger as this PDF shows it (each download then adds its access record)
            data = _protocol_data(world, session)
        pdf = app.get(f"/desk/sessions/{session}/protocol.pdf", params={"lang": language})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert title in text
        flat = re.sub(r"\s+", "", text)
        for name in (KAZAKH_NAME, RUSSIAN_EXAMINER, "Связьпрерывалась"):
            assert re.sub(r"\s+", "", name) in flat
    assert [(d.kind, d.what) for d in data.decisions] == [
        ("event_review", "confirmed"),
        ("proctoring_verdict", "retake"),
    ]
    for decision in data.decisions:
        assert decision.leaf_hash in flat and re.sub(r"\s+", "", decision.record) in flat
        verdict = check_inclusion(
            json.loads(decision.record), json.loads(decision.proof_json), data.checkpoint.note, data.verifier_key
        )
        assert verdict.leaf_index == decision.leaf_index
    assert data.root_hash in flat


def test_one_person_under_two_names_is_shown_with_both_pictures(app: TestClient, world_on: World) -> None:
    world = world_on  # one person: Айгерім's and Иван's recordings, and every enrolled photo (Асқар's too)
    first, second = world.sessions_a
    sign_in(app, world.examiner_a.email)
    page = app.get(f"/desk/sessions/{first}", headers=HTML).text
    matched = {
        session: set(re.findall(r'data-match-kind="(\w+)"', block))
        for session, block in re.findall(r'<li class="match" data-match-session="([^"]+)">(.*?)</li>', page, re.S)
    }
    assert set(matched) == {second, world.scheduled_a}  # never the other college's session
    assert "session_face" in matched[second] and matched[world.scheduled_a] == {"enrolled_photo"}
    assert RUSSIAN_NAME in page
    pictures = set(re.findall(r'<img src="(/desk/(?:faces/\d+|sessions/[^/]+/reference))"', page))
    assert any("/faces/" in p for p in pictures) and f"/desk/sessions/{world.scheduled_a}/reference" in pictures
    for picture in pictures:
        assert app.get(picture).headers["content-type"] == "image/jpeg"
    exam = app.get(f"/desk/exams/{world.exam_a}", headers=HTML).text
    flagged = re.findall(r'<tr data-session-id="([^"]+)"[^>]*>(?:(?!</tr>).)*data-shared-face="true"', exam, re.S)
    assert set(flagged) == {first, second, world.scheduled_a}
    other = TestClient(app.app)
    other.app_state.update(app.app_state)
    sign_in(other, world.examiner_b.email)
    for picture in pictures:
        assert other.get(picture).status_code == 404


def test_decisions_taken_at_once_are_all_kept(world_on: World) -> None:
    world = world_on  # two examiners' browsers deciding on one session at the same moment
    services = build_services(world.settings)
    try:
        decisions = Decisions(build_session_service(services))
        examiner = Reviewer(
            world.examiner_a.id, world.college_a, RUSSIAN_EXAMINER, world.examiner_a.email, Role.EXAMINER
        )
        start = threading.Barrier(6)

        def decide(seq: int) -> int:
            start.wait()
            return decisions.review_event(examiner, world.sessions_a[0], seq % 5, ReviewAction.CONFIRMED).ledger_index

        with ThreadPoolExecutor(6) as pool:
            indexes = list(pool.map(decide, range(6)))
    finally:
        services.engine.dispose()
    assert len(set(indexes)) == 6
    assert len(ledger_records(world, "event_review")) == 6


def test_a_shared_screen_plays_beside_the_camera(world: World, media: Path, tmp_path: Path) -> None:
    screen = webm_of(media / "single_face.mp4", tmp_path / "screen.webm")
    services = build_services(world.settings)
    try:
        service = build_session_service(services)
        with services.writing() as db:  # the session was live a minute ago, and its page still sends
            db.execute(
                update(SessionRow)
                .where(SessionRow.id == world.sessions_a[1])
                .values(live_started_at=datetime.now(UTC) - timedelta(minutes=1), recording_until=db_time(60))
            )
        part = RecordingPart("screen-1", 0, 0.0, screen.read_bytes(), track="screen")
        assert service.parts.accept(world.sessions_a[1], part)
    finally:
        services.engine.dispose()
    with TestClient(create_app(world.settings)) as app:
        sign_in(app, world.examiner_a.email)
        with_screen = app.get(f"/desk/sessions/{world.sessions_a[1]}", headers=HTML).text
        without = app.get(f"/desk/sessions/{world.sessions_a[0]}", headers=HTML).text
        assert '<select id="track">' in with_screen and '<select id="track">' not in without
        played = app.get(f"/desk/sessions/{world.sessions_a[1]}/recording", params={"track": "screen"})
        assert played.status_code == 200 and played.headers["content-type"] == "video/webm"


def test_a_college_key_cannot_take_the_id_of_the_platforms_own_statement(world: World, demo: Scenario) -> None:
    session = world.scheduled_a
    guessable = str(uuid.uuid5(NAMESPACE, f"{session}/analysed/0"))  # the id a statement would get unkeyed
    with TestClient(create_app(world.settings)) as app:
        forged = dict(statements(app, world.key_a, world.sessions_a[0])[0])
        forged = {k: v for k, v in forged.items() if k not in ("stored", "authority", "version")}
        forged["id"] = guessable
        forged["context"] = {**forged["context"], "registration": session}
        posted = app.post("/xapi/statements", json=forged, headers={**XAPI, "Authorization": f"Bearer {world.key_a}"})
        assert posted.status_code == 200, posted.text
    services = build_services(world.settings)
    try:
        service = build_session_service(services)
        service.recordings.accept(world.college_a, session, upload_of(demo.video, world.data_dir / "incoming"))
        service.analyses.start(session)
        assert service.analyses.finish(dataclasses.replace(world.analysis, session_id=session)) is not None
    finally:
        services.engine.dispose()
    with TestClient(create_app(world.settings)) as app:
        found = statements(app, world.key_a, session)
    ours = [s for s in found if s["authority"]["account"]["name"] == "proctoring"]
    assert len(ours) == 1 and ours[0]["id"] != guessable  # the platform's own result is stored, under its own id
    assert {s["id"] for s in found} == {guessable, ours[0]["id"]}


def test_the_side_camera_plays_beside_the_camera_for_its_college_only(
    world: World, media: Path, tmp_path: Path
) -> None:
    phone = webm_of(media / "single_face.mp4", tmp_path / "side.webm", keyframe_every_s=2.0)
    services = build_services(world.settings)
    try:
        service = build_session_service(services)
        with services.writing() as db:  # the session was live a minute ago, and its phone still sends
            db.execute(
                update(SessionRow)
                .where(SessionRow.id == world.sessions_a[1])
                .values(live_started_at=datetime.now(UTC) - timedelta(minutes=1), recording_until=db_time(60))
            )
        assert service.parts.accept(
            world.sessions_a[1], RecordingPart("side-1", 0, 0.0, phone.read_bytes(), track="side")
        )
    finally:
        services.engine.dispose()
    with TestClient(create_app(world.settings)) as app:
        sign_in(app, world.examiner_a.email)
        with_side = app.get(f"/desk/sessions/{world.sessions_a[1]}", headers=HTML).text
        without = app.get(f"/desk/sessions/{world.sessions_a[0]}", headers=HTML).text
        assert 'id="side-player"' in with_side and 'id="side-player"' not in without
        assert f'src="/desk/sessions/{world.sessions_a[1]}/recording?track=side"' in with_side
        played = app.get(f"/desk/sessions/{world.sessions_a[1]}/recording", params={"track": "side"})
        assert played.status_code == 200 and played.headers["content-type"] == "video/webm"
    with TestClient(create_app(world.settings)) as app:
        sign_in(app, world.examiner_b.email)  # the other college's examiner
        assert app.get(f"/desk/sessions/{world.sessions_a[1]}/recording", params={"track": "side"}).status_code == 404
