"""The side camera (a phone joined by the QR code), tried over HTTP against the platform on loopback: what its token
reaches and what it does not, its parts kept and analysed like any part, its joining, leaving and coming back and a
phone that sees nobody as events at the seal, its track played back, and two colleges kept apart."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from footprint.accounts import ALL_SCOPES, issue_key_for
from footprint.store import make_engine, make_session_factory
from proctor.sessions.tables import ChunkRow, RecordingRunRow
from tests.fixtures.live_media import webm_of
from tests.fixtures.scenarios import Scenario
from tests.fixtures.screens import phone_view, render_screen
from tests.live.conftest import Enrolled, LiveMedia, api, enrol
from tests.live.test_recording_seal import go_live, played, slices
from tests.servers import LiveServer
from web.live.client import LiveClient
from web.settings import Settings

pytestmark = pytest.mark.slow
SIDE = {"room_scan": {"pre_exam": False}, "side_camera": {"required": True, "max_gap_s": 4.0}}
PART = 48 * 1024
LINK = re.compile(r'<a id="side-link" href="[^"]*/side/([a-z0-9]+)"')


def side_link(server: LiveServer, join_token: str) -> str:
    """The side token the candidate's page shows (its link and QR code), read as a person reads the page."""
    page = httpx.get(f"{server.url}/join/{join_token}?lang=en", timeout=30)
    assert page.status_code == 200
    assert 'id="side-qr" src="data:image/svg+xml' in page.text
    found = LINK.search(page.text)
    assert found, "the system check shows the side camera's link"
    return found.group(1)


def put(server: LiveServer, token: str, run: str, part: int, data: bytes, start_s: float, track: str = "side") -> int:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "video/webm",
        "X-Run-Start-S": f"{start_s}",
        "X-Track": track,
    }
    url = f"{server.url}/live/recording/{run}/{part}"
    return httpx.put(url, content=data, headers=headers, timeout=60).status_code


def phone_status(server: LiveServer, token: str) -> httpx.Response:
    """What the candidate's page polls under the QR code."""
    return httpx.get(f"{server.url}/live/side/status", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def age_side_parts(url: str, session_id: str, seconds: float) -> None:
    """Make the side parts look `seconds` older (as if the phone had gone quiet that long ago)."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as db:
            for chunk in db.scalars(select(ChunkRow).where(ChunkRow.session_id == session_id)):
                chunk.created_at = chunk.created_at - timedelta(seconds=seconds)
    finally:
        engine.dispose()


def hello(server: LiveServer, token: str) -> httpx.Response:
    return httpx.post(f"{server.url}/live/side/hello", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def wall(folder: Path) -> Path:
    """Ten seconds of a bare wall (what a phone placed facing away sees), as the phone records it."""
    source = folder / "wall.mp4"
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter.fourcc(*"mp4v"), 15, (640, 360))
    noise = np.random.default_rng(7)
    for _ in range(150):
        frame = np.full((360, 640, 3), (176, 184, 190), dtype=np.uint8)
        writer.write(np.clip(frame + noise.integers(-6, 6, frame.shape), 0, 255).astype(np.uint8))
    writer.release()
    return webm_of(source, folder / "wall.webm", keyframe_every_s=2.0, bitrate=600_000)


def other_college_key(url: str) -> str:
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as db:
            return issue_key_for(db, "Other College", "lms", ALL_SCOPES, new_college=True).secret
    finally:
        engine.dispose()


def views(url: str, session_id: str) -> list[list[float]]:
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            rows = db.scalars(
                select(ChunkRow.views)
                .join(RecordingRunRow, RecordingRunRow.id == ChunkRow.run_id)
                .where(ChunkRow.session_id == session_id, RecordingRunRow.track == "side")
            ).all()
    finally:
        engine.dispose()
    return [view for data in rows if data for view in data]


def test_the_side_token_reaches_only_the_phones_page_and_side_parts(
    live_server: LiveServer, live_settings: Settings, live_media: LiveMedia, demo: Scenario
) -> None:
    server = live_server
    enrolled = enrol(server.url, demo, SIDE)
    side = side_link(server, enrolled.token)
    assert side != enrolled.token and side == side_link(server, enrolled.token)  # the same link every time
    plain = enrol(server.url, demo)  # an exam that asks for no side camera shows no link
    assert 'id="side-link"' not in httpx.get(f"{server.url}/join/{plain.token}").text
    part0 = slices(live_media.another, PART)[0]

    assert httpx.get(f"{server.url}/side/{side}?lang=kk").status_code == 200
    assert hello(server, side).json() == {"state": "scheduled", "session_time_s": None}
    assert put(server, side, "side-1", 0, part0, 0.0) == 403  # the candidate has not accepted the terms yet
    # what the side token does not open
    assert httpx.get(f"{server.url}/join/{side}").status_code == 404
    assert httpx.get(f"{server.url}/side/{enrolled.token}").status_code == 404  # nor the join token the phone's page
    assert httpx.get(f"{server.url}/side/{side[:-2]}xx").status_code == 404
    bearer = {"Authorization": f"Bearer {side}"}
    assert (
        httpx.post(f"{server.url}/live/offer", json={"sdp": "v=0", "type": "offer"}, headers=bearer).status_code == 401
    )
    assert httpx.post(f"{server.url}/live/recording/seal", json={}, headers=bearer).status_code == 401
    assert httpx.get(f"{server.url}/live/gate", headers=bearer).status_code == 401
    assert httpx.post(f"{server.url}/live/speedtest", content=b"x", headers=bearer).status_code == 401
    assert put(server, side, "cam-1", 0, part0, 0.0, track="camera") == 401
    assert put(server, side, "scr-1", 0, part0, 0.0, track="screen") == 401
    assert put(server, enrolled.token, "side-1", 0, part0, 0.0) == 401  # the join token sends no side parts
    assert hello(server, enrolled.token).status_code == 401
    assert phone_status(server, enrolled.token).json() == {"state": "waiting", "seconds_since": None}
    assert phone_status(server, side).status_code == 401  # the phone's token does not read the candidate's page
    assert phone_status(server, plain.token).json()["state"] == "off"
    other = enrol(server.url, demo, SIDE)  # another session's phone sends to its own session only
    other_side = side_link(server, other.token)
    assert other_side != side

    async def session() -> dict[str, Any]:
        client = LiveClient(server.url, enrolled.token)
        try:
            started = await go_live(client, live_media.first)
            await played(started, 21.0)  # the session has lived past the phone's second run
            clock = hello(server, side).json()
            assert clock["state"] == "in_progress" and clock["session_time_s"] > 15.0
            parts = slices(live_media.another, PART)  # the phone: 12 s of a person at a desk, from 0 s
            for number, data in enumerate(parts):
                assert put(server, side, "side-1", number, data, 0.0) == 201
            assert put(server, side, "side-2", 0, parts[0], 17.5) == 201  # it left at 12 s, back at 17.5 s
            shown = phone_status(server, enrolled.token).json()  # the candidate's page sees the phone recording
            assert shown["state"] in ("connected", "sees_nobody") and shown["seconds_since"] is not None, shown
            await client.finish()
            return await client.seal({})
        finally:
            await client.close()

    sealed = asyncio.run(session())
    assert {run["run"] for run in sealed["runs"]} == {"side-1", "side-2"}  # the seal covers the side track
    assert hello(server, side).status_code == 409  # the exam is over
    assert put(server, side, "side-2", 1, slices(live_media.another, PART)[1], 17.5) == 410  # sealed
    assert httpx.get(f"{server.url}/side/{side}").status_code == 410

    seen = views(live_settings.db_url, enrolled.session_id)
    assert len(seen) >= 5 and all(0.0 <= at_s <= 21.0 for at_s, *_ in seen)
    assert sum(1 for _, people, *_ in seen if people >= 1) >= len(seen) * 0.6  # a person at the desk, seen
    with api(server) as client:
        events = client.get(f"/api/v1/sessions/{enrolled.session_id}/events").json()
        played_back = client.get(f"/api/v1/sessions/{enrolled.session_id}/recording", params={"track": "side"})
        summary = client.get(f"/api/v1/sessions/{enrolled.session_id}").json()
    side_events = {e["type"]: e for e in events if e["type"].startswith("side_camera")}
    assert set(side_events) == {"side_camera_joined", "side_camera_left", "side_camera_back"}, side_events
    assert all(e["technical"] for e in side_events.values())
    left = sorted((e for e in events if e["type"] == "side_camera_left"), key=lambda e: e["start_s"])
    assert 10.0 <= left[0]["start_s"] <= 13.5 and 17.0 <= left[0]["end_s"] <= 18.5  # away from 12 s to 17.5 s
    assert all(e["start_s"] >= 17.5 for e in left[1:])  # and gone after its last part, while the exam went on
    assert 17.0 <= side_events["side_camera_back"]["start_s"] <= 18.5
    assert summary["score"] is not None  # the side camera's events are never scored
    assert played_back.status_code == 200 and played_back.headers["content-type"] == "video/webm"
    assert played_back.content[:4] == b"\x1a\x45\xdf\xa3" and len(played_back.content) > 100_000
    # another college sees nothing of it
    outsider = {"Authorization": f"Bearer {other_college_key(live_settings.db_url)}"}
    with httpx.Client(base_url=server.url, headers=outsider, timeout=30) as client:
        assert client.get(f"/api/v1/sessions/{enrolled.session_id}/recording?track=side").status_code == 404
        assert client.get(f"/api/v1/sessions/{enrolled.session_id}/events").status_code == 404


def test_a_phone_that_sees_nobody_or_never_comes_is_flagged_for_the_examiner(
    live_server: LiveServer, live_settings: Settings, live_media: LiveMedia, demo: Scenario, tmp_path: Path
) -> None:
    server = live_server
    blind = enrol(server.url, demo, SIDE)
    absent = enrol(server.url, demo, SIDE)
    side = side_link(server, blind.token)
    side_link(server, absent.token)
    facing_the_wall = wall(tmp_path)

    async def sit(token: str, phone: bool) -> None:
        client = LiveClient(server.url, token)
        try:
            started = await go_live(client, live_media.first)
            await played(started, 11.0)
            if phone:
                for number, data in enumerate(slices(facing_the_wall, PART)):
                    assert put(server, side, "side-1", number, data, 0.0) == 201
                shown = phone_status(server, token).json()
                assert shown["state"] == "sees_nobody", shown  # the page asks to turn the phone toward the desk
                age_side_parts(live_settings.db_url, blind.session_id, 60.0)
                assert phone_status(server, token).json()["state"] == "lost"  # quiet longer than max_gap_s
            else:
                assert phone_status(server, token).json()["state"] == "waiting"
            await client.finish()
            await client.seal({})
        finally:
            await client.close()

    asyncio.run(sit(blind.token, True))
    asyncio.run(sit(absent.token, False))
    seen = views(live_settings.db_url, blind.session_id)
    assert seen and all(people == 0 for _, people, *_ in seen)
    with api(server) as client:
        flagged = client.get(f"/api/v1/sessions/{blind.session_id}/events").json()
        missing = client.get(f"/api/v1/sessions/{absent.session_id}/events").json()
    types = {e["type"]: e for e in flagged if e["type"].startswith("side_camera")}
    assert set(types) == {"side_camera_joined", "side_camera_blind"}
    assert types["side_camera_blind"]["technical"] and types["side_camera_blind"]["measurements"]["share"] == 1.0
    assert [e["type"] for e in missing if e["type"].startswith("side_camera")] == ["side_camera_missing"]


def still_video(folder: Path, name: str, frame: np.ndarray, seconds: float = 10.0) -> Path:
    """`seconds` of one picture with a little sensor noise, as a page records it (VP8, a keyframe every 2 s)."""
    height, width = frame.shape[:2]
    source = folder / f"{name}.mp4"
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter.fourcc(*"mp4v"), 15, (width, height))
    noise = np.random.default_rng(11)
    for _ in range(round(15 * seconds)):
        writer.write(np.clip(frame + noise.integers(-3, 3, frame.shape), 0, 255).astype(np.uint8))
    writer.release()
    return webm_of(source, folder / f"{name}.webm", keyframe_every_s=2.0, bitrate=600_000)


def test_the_phone_is_checked_for_the_shared_screen_in_its_view(
    live_server: LiveServer, live_settings: Settings, live_media: LiveMedia, demo: Scenario, tmp_path: Path
) -> None:
    server = live_server
    policy = {**SIDE, "browser": {"screen_share": True}}
    sees = enrol(server.url, demo, policy)
    misses = enrol(server.url, demo, policy)
    page = render_screen("welding")
    screen = slices(still_video(tmp_path, "screen", page), PART)
    phone_sees = slices(still_video(tmp_path, "phone-sees", phone_view(page)), PART)
    phone_misses = slices(still_video(tmp_path, "phone-misses", phone_view(None)), PART)  # the room, not the screen

    async def sit(enrolled: Enrolled, phone: list[bytes]) -> dict[str, Any]:
        side = side_link(server, enrolled.token)
        client = LiveClient(server.url, enrolled.token)
        try:
            started = await go_live(client, live_media.first)
            await played(started, 11.0)
            sent = 0
            for number, data in enumerate(phone):  # the screen's parts and the phone's, as they come, in step
                while sent < len(screen) * (number + 1) / len(phone):
                    screen_part = (server, enrolled.token, "screen-1", sent, screen[sent], 0.0)
                    assert await asyncio.to_thread(put, *screen_part, track="screen") == 201
                    sent += 1
                assert await asyncio.to_thread(put, server, side, "side-1", number, data, 0.0) == 201
            shown: dict[str, Any] = (await asyncio.to_thread(phone_status, server, enrolled.token)).json()
            await client.finish()
            await client.seal({"screen-1": len(screen)})
            return shown
        finally:
            await client.close()

    async def both() -> tuple[dict[str, Any], dict[str, Any]]:  # the two candidates sit side by side
        return await asyncio.gather(sit(sees, phone_sees), sit(misses, phone_misses))

    shown_sees, shown_misses = asyncio.run(both())
    seen = views(live_settings.db_url, sees.session_id)
    checked = [view for view in seen if view[3] >= 0]
    assert len(checked) >= 3 and all(view[3] == 1 for view in checked), seen
    unseen = views(live_settings.db_url, misses.session_id)
    missed = [view for view in unseen if view[3] >= 0]
    assert len(missed) >= 3 and all(view[3] == 0 for view in missed), unseen
    assert shown_sees["state"] == "connected", shown_sees
    assert shown_misses["state"] == "sees_no_screen", (shown_misses, unseen)  # place it so it sees the screen
    with api(server) as client:
        fine = client.get(f"/api/v1/sessions/{sees.session_id}/events").json()
        flagged = client.get(f"/api/v1/sessions/{misses.session_id}/events").json()
    assert "side_camera_no_screen" not in {e["type"] for e in fine}
    no_screen = [e for e in flagged if e["type"] == "side_camera_no_screen"]
    assert len(no_screen) == 1 and no_screen[0]["technical"], flagged
    assert no_screen[0]["measurements"]["share"] == 1.0
