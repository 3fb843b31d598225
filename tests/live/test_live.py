"""Live exam sessions with a real aiortc client streaming real recordings to the real server on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.orm import Session

from footprint.ledger.checkpoint import verify
from footprint.store import make_engine
from proctor.analyze import analyze_recording
from proctor.decode import probe
from proctor.events.vocabulary import TECHNICAL, EventType
from proctor.policy import policy_from_dict
from proctor.sessions.tables import SessionFaceRow, SessionRow
from tests.fixtures.scenarios import Scenario
from tests.live.conftest import KEY, LiveMedia, api, enrol
from tests.servers import SERVER_KEY, LiveServer, free_port, server
from web.live.client import LiveClient, LiveError

pytestmark = pytest.mark.slow
TOLERANCE_S = 0.5


def events_of(server: LiveServer, session_id: str) -> list[dict[str, Any]]:
    with api(server) as client:
        answer: list[dict[str, Any]] = client.get(f"/api/v1/sessions/{session_id}/events").json()
        return answer


async def play_out(client: LiveClient, media: Path) -> None:
    """Wait until the client has sent all of `media`, and a little more for the last packets to be taken in. It
    streams in real time, and falls behind on a busy machine: the end of its tracks says it is done, not the clock."""
    assert client.peer is not None
    tracks = [sender.track for sender in client.peer.getSenders() if sender.track is not None]
    deadline = time.monotonic() + probe(media).duration_s + 120.0  # a safety net only
    while any(track.readyState != "ended" for track in tracks):
        assert time.monotonic() < deadline, "the client never finished sending its media"
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)


def test_a_live_session_is_stored_as_it_happens_and_equals_the_offline_analysis(
    live_server: LiveServer, live_media: LiveMedia, demo: Scenario, tmp_path: Path
) -> None:
    enrolled = enrol(live_server.url, demo)
    seen_while_streaming: list[dict[str, Any]] = []

    async def session() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        client = LiveClient(live_server.url, enrolled.token)
        try:
            assert (await client.open())["state"] == "scheduled"
            await client.consent()  # the candidate accepts the proctoring terms
            await client.ready()  # the analysis has the session's models warm before the camera starts
            await client.connect(live_media.whole)
            await client.wait_for(lambda m: m.get("type") == "identity" and m.get("state") == "verified", 60)
            await client.wait_for(lambda m: m.get("state") == "in_progress", 30)
            await client.wait_for(lambda m: m.get("type") == "notice" and m.get("event") == "face_absent", 60)
            stored = await asyncio.to_thread(events_of, live_server, enrolled.session_id)
            seen_while_streaming.extend(stored)  # the event is in the store as soon as it is announced
            await play_out(client, live_media.whole)
            parts = await client.upload_recording(live_media.recorded, "run-1", run_start_s=0.0)
            assert parts > 1
            receipt = await client.finish()
            sealed = await client.seal({"run-1": parts})
            assert sealed["runs"] == [{"run": "run-1", "parts": parts, "said_parts": parts}]
            return receipt, client.messages
        finally:
            await client.close()

    receipt, messages = asyncio.run(session())
    absent = [e for e in seen_while_streaming if e["type"] == "face_absent"]
    assert absent and absent[0]["opened_at"] is not None
    notices = [m for m in messages if m["type"] == "notice"]
    assert {"face_not_visible", "more_than_one_face", "voice_heard"} <= {n["key"] for n in notices}

    with api(live_server) as client:
        session = client.get(f"/api/v1/sessions/{enrolled.session_id}").json()
        assert (session["status"], session["analysis"]) == ("analysed", "done") and session["score"] > 0
        assert session["identity"] == "verified" and session["live_started_at"] is not None
        # the page's own recording (another encoder of the same camera) shows what the analysis saw
        assert session["recording_check"] == "verified" and session["recording_sealed_at"] is not None
        exam = client.get(f"/api/v1/exams/{enrolled.exam_id}").json()
        recording = client.get(f"/api/v1/sessions/{enrolled.session_id}/recording")
        public_key = client.get("/ledger/public-key").text
        scraped = list(text_string_to_metric_families(client.get("/metrics").text))
    metrics = {m.name: m.samples[0].value for m in scraped}
    labelled = {(s.name, *s.labels.values()): s.value for m in scraped for s in m.samples}
    assert recording.status_code == 200 and recording.headers["content-type"] == "video/webm"
    # stored when the seat had been empty for the rule's persistence window, not before (media time)
    on_s = policy_from_dict(exam["policy"]).timing(EventType.FACE_ABSENT).on_s
    assert absent[0]["detected_s"] - absent[0]["start_s"] == pytest.approx(on_s, abs=0.3)

    # what the node says about itself: the session is over, its frames went to analysis at the policy's rate
    assert metrics["proctor_live_sessions"] == 0 and metrics["proctor_live_streams"] == 0
    assert metrics["proctor_live_workers"] >= 1
    rate = policy_from_dict(exam["policy"]).analysis_rate_hz
    duration = probe(live_media.whole).duration_s
    analysed, dropped = metrics["proctor_live_frames_analysed"], metrics["proctor_live_frames_dropped"]
    assert analysed + dropped == pytest.approx(duration * rate, rel=0.15)
    # where its CPU went: the workers' Python and mediapipe's graph threads; the web process's event loop
    assert labelled["proctor_live_worker_cpu_seconds_total", "analysis"] > 0
    assert labelled["proctor_live_worker_cpu_seconds_total", "models"] > 0
    assert labelled["proctor_thread_cpu_seconds", "MainThread"] > 0

    # the candidate's receipt: a checkpoint signed by the platform, holding the result
    checkpoint = verify(receipt["checkpoint"]["note"], public_key.strip())
    assert receipt["session_id"] == enrolled.session_id
    assert 0 <= receipt["result_leaf_index"] < checkpoint.tree_size

    # live events equal the offline analysis of the same media: types and times
    live = [e for e in events_of(live_server, enrolled.session_id) if e["type"] not in TECHNICAL]
    assert not [e for e in live if e["open"]]
    offline = analyze_recording(live_media.whole, demo.reference, policy_from_dict(exam["policy"]))
    expected = [e for e in offline.events if e.type not in TECHNICAL]
    assert [e["type"] for e in live] == [e.type.value for e in expected]
    for got, want in zip(live, expected, strict=True):
        assert got["start_s"] == pytest.approx(want.start_s, abs=TOLERANCE_S), (got, want)
        assert got["end_s"] == pytest.approx(want.end_s, abs=TOLERANCE_S), (got, want)
    technical = [e for e in events_of(live_server, enrolled.session_id) if e["type"] in TECHNICAL]
    assert all(e["start_s"] >= duration - TOLERANCE_S for e in technical), technical  # only after the media ended

    # every identity check is kept in the report (the other person's fail, the candidate's match), and the faces
    # seen are kept with the session (live_server keeps its SQLite database in tmp_path/data)
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'proctor.db'}")
    try:
        with Session(engine) as db:
            row = db.get(SessionRow, enrolled.session_id)
            faces = db.scalars(select(SessionFaceRow).where(SessionFaceRow.session_id == enrolled.session_id)).all()
            checks: list[dict[str, Any]] = row.report["identity_checks"] if row and row.report else []  # type: ignore[assignment]
    finally:
        engine.dispose()
    other = demo.span("identity_mismatch")
    alone = [(0.0, demo.truth[0].end_s, True), (other.start_s, other.end_s, False), (other.end_s, 1e9, True)]
    for start, end, match in alone:  # a check is of the frame at its media time
        inside = [c for c in checks if start <= c["at_s"] < end]
        assert inside and all(c["match"] is match for c in inside), (start, end, inside)
    assert sum(face.checks for face in faces) == len(checks) and all(face.photo_key for face in faces)
    distances = sorted(face.reference_distance or 0.0 for face in faces)
    assert distances[0] <= 0.35 and distances[-1] >= 0.7  # the candidate's face, and the other person's


def test_a_dropped_connection_is_a_technical_gap_in_one_recording(
    live_server: LiveServer, live_media: LiveMedia, demo: Scenario
) -> None:
    enrolled = enrol(live_server.url, demo)

    async def session() -> None:
        client = LiveClient(live_server.url, enrolled.token)
        try:
            await client.open()
            await client.consent()  # the candidate accepts the proctoring terms
            await client.ready()  # the analysis has the session's models warm before the camera starts
            await client.connect(live_media.first)
            await play_out(client, live_media.first)
            await client.disconnect()  # the network drops
            await asyncio.sleep(3.0)
            await client.connect(live_media.second)  # the same token, a new connection
            await play_out(client, live_media.second)
            # the page kept recording through the drop: one run, sent when the network was back
            await client.upload_recording(live_media.whole, "run-1", run_start_s=0.0)
            await client.finish()
        finally:
            await client.close()

    asyncio.run(session())
    events = events_of(live_server, enrolled.session_id)
    lost = [e for e in events if e["type"] == "video_lost"]
    assert lost and lost[0]["technical"] and lost[0]["start_s"] == pytest.approx(live_media.cut_s, abs=1.0)
    assert lost[0]["duration_s"] >= 2.5
    pairs = [(e["type"], round(e["start_s"], 1)) for e in events]
    assert len(pairs) == len(set(pairs)), "an event was stored twice"
    absent = [e for e in events if e["type"] == "face_absent"]
    assert absent and absent[0]["start_s"] == pytest.approx(demo.span("face_absent").start_s, abs=TOLERANCE_S)
    with api(live_server) as client:
        session = client.get(f"/api/v1/sessions/{enrolled.session_id}").json()
        recording = client.get(f"/api/v1/sessions/{enrolled.session_id}/recording")
    assert session["status"] == "analysed" and session["score"] is not None
    assert recording.status_code == 200


def test_bad_tokens_offers_and_parts_get_a_clear_4xx(live_server: LiveServer, demo: Scenario) -> None:
    enrolled = enrol(live_server.url, demo)
    closed = enrol(live_server.url, demo, closes_at="2020-01-01T00:00:00Z")
    base = live_server.url

    def offer(token: str, sdp: str) -> httpx.Response:
        return httpx.post(
            f"{base}/live/offer", json={"sdp": sdp, "type": "offer"}, headers={"Authorization": f"Bearer {token}"}
        )

    audio_only = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    video = audio_only + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    assert offer("not-a-token", video).status_code == 401
    assert httpx.post(f"{base}/live/offer", json={"sdp": video, "type": "offer"}).status_code == 401
    assert offer(closed.token, video).status_code == 410
    refused = offer(enrolled.token, audio_only)
    assert refused.status_code == 400 and "video" in refused.json()["error"]["message"]
    unconsented = offer(enrolled.token, video)  # the candidate has not accepted the proctoring terms
    assert unconsented.status_code == 403 and "consent" in unconsented.json()["error"]["message"]

    async def accept() -> None:
        client = LiveClient(base, enrolled.token)
        await client.open()
        assert (await client.consent())["consent"] == "accepted"
        await client.close()

    asyncio.run(accept())
    malformed = offer(enrolled.token, "m=video this is not an SDP")
    assert malformed.status_code == 400

    async def sockets() -> None:
        for token, code in (("not-a-token", 4401), (closed.token, 4410)):
            client = LiveClient(base, token)
            with pytest.raises(Exception) as refused:
                await client.open()
            assert getattr(refused.value, "status", None) == code
            await client.close()
        # a session finished without any media: analysed at once, and its link no longer opens it
        client = LiveClient(base, enrolled.token)
        await client.open()
        receipt = await client.finish()
        assert receipt["session_id"] == enrolled.session_id
        await client.close()

    asyncio.run(sockets())
    assert offer(enrolled.token, video).status_code == 410
    part = {"Authorization": "Bearer not-a-token", "Content-Type": "video/webm", "X-Run-Start-S": "0"}
    assert httpx.put(f"{base}/live/recording/run-1/0", content=b"\x1a\x45\xdf\xa3", headers=part).status_code == 401
    mine = {**part, "Authorization": f"Bearer {enrolled.token}"}
    junk = httpx.put(f"{base}/live/recording/run-1/0", content=b"\x1a\x45\xdf\xa3", headers=mine)
    assert junk.status_code == 409  # the session never had media: no recording of it is taken
    wrong_type = {**mine, "Content-Type": "text/plain"}
    assert httpx.put(f"{base}/live/recording/run-1/1", content=b"x", headers=wrong_type).status_code == 415
    assert KEY not in enrolled.token


def test_a_server_killed_mid_session_resumes_it_and_loses_nothing(
    live_media: LiveMedia, demo: Scenario, tmp_path: Path
) -> None:
    data, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}"

    async def before_the_kill(token: str) -> None:
        client = LiveClient(base, token)
        try:
            await client.open()
            await client.consent()  # the candidate accepts the proctoring terms
            await client.connect(live_media.first)
            await client.wait_for(lambda m: m.get("type") == "notice" and m.get("event") == "face_absent", 60)
            await asyncio.sleep(2.0)  # the seat is still empty: the event is open when the server dies
        finally:
            await client.close()

    async def after_the_restart(token: str) -> dict[str, Any]:
        client = LiveClient(base, token)
        try:
            welcome = await client.open()
            await client.consent()  # the candidate accepts the proctoring terms
            assert welcome["state"] == "in_progress"  # the session goes on where it was
            await client.connect(live_media.second)
            await play_out(client, live_media.second)
            return await client.finish()
        finally:
            await client.close()

    with server(data, port) as process:
        enrolled = enrol(base, demo, key=SERVER_KEY)
        asyncio.run(before_the_kill(enrolled.token))
        os.killpg(process.pid, signal.SIGKILL)  # the server and its analysis processes, mid-session
        process.wait(timeout=30)
    with server(data, port):
        receipt = asyncio.run(after_the_restart(enrolled.token))
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {SERVER_KEY}"}, timeout=60) as client:
            session = client.get(f"/api/v1/sessions/{enrolled.session_id}").json()
            events = client.get(f"/api/v1/sessions/{enrolled.session_id}/events").json()
    assert receipt["session_id"] == enrolled.session_id and session["status"] == "analysed"
    absent = [e for e in events if e["type"] == "face_absent"]
    assert absent and not absent[0]["open"]  # stored before the kill, closed where the stored media ended
    assert absent[0]["start_s"] == pytest.approx(demo.span("face_absent").start_s, abs=TOLERANCE_S)
    lost = [e for e in events if e["type"] == "video_lost"]
    assert lost and lost[0]["start_s"] <= absent[0]["end_s"] + 1.0 and lost[0]["duration_s"] > 1.0
    assert not [e for e in events if e["open"]]
    numbers = [e["seq"] for e in events]
    assert len(numbers) == len(set(numbers))


def test_the_join_token_never_reaches_the_server_log(demo: Scenario, tmp_path: Path) -> None:
    data, port, log = tmp_path / "data", free_port(), tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"

    async def candidate(token: str) -> None:
        client = LiveClient(base, token)
        try:
            await client.open()
            await client.consent()  # the candidate accepts the proctoring terms
            with pytest.raises(Exception) as refused:
                await client.offer("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n")
            assert getattr(refused.value, "status", None) == 400
            with pytest.raises(LiveError) as junk:  # a picture is no recording part, and nothing is live yet
                await client.upload_recording(demo.reference, "run-1", run_start_s=0.0)
            assert junk.value.status in (409, 415, 422)
        finally:
            await client.close()

    with server(data, port, log=log, PROCTOR_LOG_LEVEL="INFO"):
        enrolled = enrol(base, demo, key=SERVER_KEY)
        httpx.get(f"{base}/join/{enrolled.token}")  # the page link, as the candidate's browser opens it
        asyncio.run(candidate(enrolled.token))
    written = log.read_text(encoding="utf-8", errors="replace")
    assert "GET /join/[token]" in written and "/live/offer" in written  # the access log is there, redacted
    assert enrolled.token not in written


def test_a_reloaded_page_replaces_the_connection_and_the_session_goes_on(
    live_server: LiveServer, live_media: LiveMedia, demo: Scenario
) -> None:
    enrolled = enrol(live_server.url, demo)

    async def session() -> tuple[str, dict[str, float], dict[str, Any]]:
        first, second = LiveClient(live_server.url, enrolled.token), LiveClient(live_server.url, enrolled.token)
        try:
            await first.open()
            await first.consent()
            await first.ready()
            await first.connect(live_media.first)
            await first.wait_for(lambda m: m.get("state") == "in_progress", 60)
            await second.open()  # the page is reloaded: a new socket and a new connection, same token
            await second.connect(live_media.second)
            old = first.peer
            assert old is not None
            for _ in range(300):  # the server closes the old connection: its DTLS goodbye reaches the old page
                if old.connectionState in ("closed", "failed"):
                    break
                await asyncio.sleep(0.1)
            dropped_state = old.connectionState
            with api(live_server) as client:
                text = client.get("/metrics").text
            counters = {m.name: m.samples[0].value for m in text_string_to_metric_families(text)}
            return dropped_state, counters, await second.finish()
        finally:
            await first.close()
            await second.close()

    dropped_state, counters, receipt = asyncio.run(session())
    assert dropped_state in ("closed", "failed")  # the server closed the page's old connection
    assert counters["proctor_live_sessions"] == 1 and counters["proctor_live_streams"] == 1
    assert receipt["session_id"] == enrolled.session_id
    events = events_of(live_server, enrolled.session_id)
    assert not [e for e in events if e["open"]]
    numbers = [e["seq"] for e in events]
    assert len(numbers) == len(set(numbers))
