"""The kept recording of a live session, tried as the candidate would: a page that sends another video than its
camera's, and parts that are junk, too large, replayed with other bytes, out of order, overlapping, from the
future, too many, after the seal or after the grace time. Each is refused with its reason and leaves nothing
behind (no file, no row, no ledger record), and the recording still plays after each."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from footprint.ledger.tables import EntryRow
from footprint.store import make_engine
from proctor.sessions.clock import db_time
from proctor.sessions.tables import ChunkRow, SessionRow
from tests.fixtures.scenarios import Scenario
from tests.live.conftest import KEY, LiveMedia, api, enrol
from tests.servers import LiveServer, free_port
from web.live.client import LiveClient
from web.settings import Settings

pytestmark = pytest.mark.slow
PART_BYTES = 64 * 1024


@pytest.fixture
def strict_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server with small limits, so that a test can reach them."""
    settings = Settings(
        data_dir=tmp_path / "data",
        port=free_port(),
        bootstrap_api_key=KEY,
        checkpoint_interval_s=3600,
        log_level="WARNING",
        recording_part_bytes=PART_BYTES,
        recording_runs=3,
    )
    with LiveServer(settings) as server:
        yield server


def counts(data: Path, session_id: str) -> tuple[int, int, int]:
    """Kept parts, the ledger's records of the session's recording parts, and the files of its live recording (what
    a refused part must not add). Only the parts' records are counted: the live analysis meanwhile appends its own
    (events), whenever a loaded machine gets to them."""
    engine = make_engine(f"sqlite:///{data / 'proctor.db'}")
    try:
        with Session(engine) as db:
            parts = db.scalar(select(func.count(ChunkRow.id)).where(ChunkRow.session_id == session_id)) or 0
            size = (
                db.scalar(
                    select(func.count(EntryRow.index)).where(
                        EntryRow.kind == "recording_chunk", EntryRow.record_id.startswith(f"{session_id}/")
                    )
                )
                or 0
            )
    finally:
        engine.dispose()
    files = sum(1 for path in (data / "media").rglob("*.part") if session_id in str(path))
    return int(parts), int(size), files


def put(server: LiveServer, token: str, run: str, part: int, data: bytes, **headers: str) -> httpx.Response:
    return httpx.put(
        f"{server.url}/live/recording/{run}/{part}",
        content=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "video/webm", "X-Run-Start-S": "0", **headers},
        timeout=60,
    )


def playable(server: LiveServer, session_id: str) -> None:
    with api(server) as client:
        answer = client.get(f"/api/v1/sessions/{session_id}/recording")
    assert answer.status_code == 200 and answer.headers["content-type"] == "video/webm", answer.text[:200]


def slices(path: Path, size: int) -> list[bytes]:
    data = path.read_bytes()
    return [data[offset : offset + size] for offset in range(0, len(data), size)]


async def go_live(client: LiveClient, media: Path) -> float:
    await client.open()
    await client.consent()
    await client.ready()
    started = time.monotonic()
    await client.connect(media)
    await client.wait_for(lambda m: m.get("state") == "in_progress", 60)
    return started


async def played(started: float, seconds: float) -> None:
    await asyncio.sleep(max(0.0, seconds + 1.0 - (time.monotonic() - started)))


def test_a_page_that_sends_another_video_than_its_camera_gets_recording_mismatch(
    live_server: LiveServer, live_media: LiveMedia, demo: Scenario
) -> None:
    enrolled = enrol(live_server.url, demo)

    async def session() -> dict[str, Any]:
        client = LiveClient(live_server.url, enrolled.token)
        try:
            started = await go_live(client, live_media.first)  # the camera, to the analysis
            await played(started, live_media.cut_s)
            parts = await client.upload_recording(live_media.another, "run-1", run_start_s=0.0)  # another video
            await client.finish()
            return await client.seal({"run-1": parts})
        finally:
            await client.close()

    sealed = asyncio.run(session())
    assert "check" not in sealed and "recording_check" not in sealed  # the page is not told what the check found
    with api(live_server) as client:
        summary = client.get(f"/api/v1/sessions/{enrolled.session_id}").json()
        events = client.get(f"/api/v1/sessions/{enrolled.session_id}/events").json()
    assert summary["recording_check"] == "mismatch"
    mismatches = [e for e in events if e["type"] == "recording_mismatch"]
    assert mismatches and all(not e["technical"] and e["severity"] == "high" for e in mismatches)
    covered = sum(e["end_s"] - e["start_s"] for e in mismatches)
    assert covered >= 4.0 and all(0.0 <= e["start_s"] <= e["end_s"] <= live_media.cut_s + 1.0 for e in mismatches)
    assert all(e["measurements"]["best_similarity"] < e["measurements"]["min_similarity"] for e in mismatches)


def test_parts_that_are_not_the_cameras_honest_recording_are_refused_and_leave_nothing(
    strict_server: LiveServer, live_media: LiveMedia, demo: Scenario, tmp_path: Path
) -> None:
    server, data = strict_server, tmp_path / "data"
    enrolled = enrol(server.url, demo)
    token, session_id = enrolled.token, enrolled.session_id
    honest = slices(live_media.first, PART_BYTES - 1024)

    async def live() -> None:
        client = LiveClient(server.url, token)
        try:
            started = await go_live(client, live_media.first)
            await played(started, live_media.cut_s)
            for number, part in enumerate(honest):  # the page's own recording: every part kept
                assert put(server, token, "run-1", number, part).status_code == 201
            before = counts(data, session_id)
            assert before[0] == len(honest) and before[2] == len(honest)
            playable(server, session_id)

            def refused(answer: httpx.Response, status: int, words: str) -> None:
                assert answer.status_code == status, answer.text
                assert words in answer.json()["error"]["message"], answer.text
                assert counts(data, session_id) == before  # no file, no row, no ledger record
                playable(server, session_id)

            screen = {"X-Track": "screen"}  # no screen run yet: only the content is judged
            refused(put(server, token, "junk", 0, os.urandom(40_000), **screen), 422, "refused")
            refused(put(server, token, "photo", 0, demo.reference.read_bytes()[:60_000], **screen), 422, "not a WebM")
            refused(put(server, token, "big", 0, b"\x1a" * (PART_BYTES + 1)), 413, "at most")
            assert put(server, token, "run-1", 1, honest[1]).status_code == 200  # a retry: nothing new
            refused(put(server, token, "run-1", 1, honest[2]), 409, "other bytes")
            refused(put(server, token, "run-1", len(honest) + 2, honest[2]), 409, "the next part")
            refused(put(server, token, "run-2", 3, honest[0]), 409, "part 0 comes first")
            refused(put(server, token, "run-2", 0, honest[0], **{"X-Run-Start-S": "2.5"}), 409, "overlap")
            refused(put(server, token, "run-1", len(honest), honest[0]), 422, "second stream")
            ahead = slices(live_media.whole, PART_BYTES - 1024)  # 30 s of media into a 13-s-old session
            answers = []
            for number, part in enumerate(ahead):
                answers.append(put(server, token, "screen-1", number, part, **screen))
                if answers[-1].status_code != 201:
                    break
            assert len(answers) > 1 and answers[-1].status_code == 422, answers[-1].text
            assert "lived" in answers[-1].json()["error"]["message"]  # media from the session's future
            later = {"X-Run-Start-S": f"{live_media.cut_s + 0.5}"}  # a reload after run-1: a run of its own
            assert put(server, token, "run-2", 0, honest[0], **later).status_code == 201
            before = counts(data, session_id)
            refused(put(server, token, "screen-9", 0, honest[0], **screen), 413, "runs")  # three runs at most

            await client.finish()  # the exam is over: the last parts still come, until the seal
            sealed = await client.seal({"run-1": len(honest)})
            assert sealed["runs"][0]["parts"] == len(honest)
            before = counts(data, session_id)
            refused(put(server, token, "run-1", len(honest), honest[-1]), 410, "sealed")
            again = await client.seal({"run-1": len(honest)})
            assert again["sealed_at"] == sealed["sealed_at"]
        finally:
            await client.close()

    asyncio.run(live())
    with api(server) as client:
        summary = client.get(f"/api/v1/sessions/{session_id}").json()
    assert summary["recording_check"] == "verified"


def test_the_finishing_upload_ends_with_the_grace_time(
    live_server: LiveServer, live_media: LiveMedia, demo: Scenario, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    enrolled = enrol(live_server.url, demo)
    token, session_id = enrolled.token, enrolled.session_id
    parts = slices(live_media.first, 200_000)

    async def live() -> None:
        client = LiveClient(live_server.url, token)
        try:
            started = await go_live(client, live_media.first)
            await played(started, live_media.cut_s)
            assert put(live_server, token, "run-1", 0, parts[0]).status_code == 201
            await client.finish()
        finally:
            await client.close()

    asyncio.run(live())
    assert put(live_server, token, "run-1", 1, parts[1]).status_code == 201  # after the exam, within the grace time
    engine = make_engine(f"sqlite:///{data / 'proctor.db'}")
    try:
        with Session(engine) as db, db.begin():  # the grace time passes
            db.execute(update(SessionRow).where(SessionRow.id == session_id).values(recording_until=db_time(-1)))
    finally:
        engine.dispose()
    before = counts(data, session_id)
    late = put(live_server, token, "run-1", 2, parts[2])
    assert late.status_code == 410 and "time for sending" in late.json()["error"]["message"]
    assert counts(data, session_id) == before
    playable(live_server, session_id)
