"""A live pre-exam room scan: a real client turns the camera round a room; the server measures it as it goes."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from proctor.events.vocabulary import SCORED
from tests.fixtures.scenarios import Scenario
from tests.live.conftest import LiveMedia, ScanMedia, api, enrol
from tests.live.test_live import events_of, play_out
from tests.roomscan.render import eased
from tests.servers import LiveServer
from web.live.client import LiveClient

pytestmark = pytest.mark.slow
MIN_COVERAGE_DEG = 330.0


def swept_at(knots: list[tuple[float, float]], degrees: float) -> float:
    """Ground truth: when the turn has swept `degrees` (from the trajectory the scan was rendered with)."""
    yaw = eased(knots)
    times = np.arange(0.0, knots[-1][0], 0.001)
    yaws = np.array([yaw(t) for t in times])
    swept = np.maximum.accumulate(yaws) - np.minimum.accumulate(yaws)
    return float(times[np.argmax(swept >= degrees)])


def test_a_pre_exam_room_scan_is_measured_live_with_progress_then_the_exam_starts(
    live_server: LiveServer, scan_media: ScanMedia, demo: Scenario
) -> None:
    # Pose takes the rendered room's cat photo for a body at some angles, and which frames it sees live depends
    # on when they arrive: faces only here, as in the offline scan tests (tests/roomscan/conftest.py)
    enrolled = enrol(live_server.url, demo, policy={"room_scan": {"pre_exam": True, "pose_check_hz": 0.0}})

    async def session() -> list[dict[str, Any]]:
        client = LiveClient(live_server.url, enrolled.token)
        try:
            await client.open()
            await client.consent()  # the candidate accepts the proctoring terms
            await client.connect(scan_media.path)
            await client.wait_for(lambda m: m.get("type") == "identity" and m.get("state") == "verified", 60)
            request = await client.wait_for(lambda m: m.get("type") == "scan_request", 30)
            assert request["request"]["kind"] == "pre_exam" and request["attempt"] == 1
            await client.send({"type": "scan_started"})  # the page shows how to turn; the candidate starts
            await client.wait_for(lambda m: m.get("type") == "scan_result", 60)
            await client.wait_for(lambda m: m.get("state") == "in_progress", 30)
            await play_out(client, scan_media.path)
            await client.finish()
            return client.messages
        finally:
            await client.close()

    messages = asyncio.run(session())
    states = [m["state"] for m in messages if m["type"] == "state"]
    assert states[:3] == ["identity_check", "room_scan", "in_progress"]

    # a progress ring: coverage grows towards the minimum while the candidate turns
    progress = [m["coverage_deg"] for m in messages if m["type"] == "scan_progress"]
    assert len(progress) >= 5 and progress[-1] >= MIN_COVERAGE_DEG
    assert progress[len(progress) // 2] < progress[-1]

    (result,) = [m for m in messages if m["type"] == "scan_result"]
    assert result["complete"] and not result["retry"] and result["coverage_deg"] >= MIN_COVERAGE_DEG
    truth = scan_media.scan_from_s + swept_at(scan_media.trajectory, MIN_COVERAGE_DEG)
    assert result["completed_at_s"] == pytest.approx(truth, abs=1.0)
    exam_from = next(m["session_time_s"] for m in messages if m.get("state") == "in_progress")
    assert exam_from >= result["completed_at_s"]

    # the camera turned away from the desk on request: that is not the candidate leaving
    with api(live_server) as client:
        events = client.get(f"/api/v1/sessions/{enrolled.session_id}/events").json()
        session = client.get(f"/api/v1/sessions/{enrolled.session_id}").json()
    flagged = [e for e in events if e["type"] in SCORED]
    assert not [e for e in flagged if e["start_s"] < exam_from], flagged
    (completed,) = [e for e in events if e["type"] == "room_scan_completed"]
    assert completed["start_s"] == pytest.approx(result["started_s"], abs=0.2)
    assert result["completed_at_s"] <= completed["end_s"] <= exam_from + 0.2
    assert session["status"] == "analysed"


def test_an_in_exam_scan_is_requested_at_its_scheduled_time_and_a_skipped_one_is_reported(
    live_server: LiveServer, live_media: LiveMedia, demo: Scenario
) -> None:
    # one in-exam scan in a 1-minute exam with 25 s quiet margins and a 10 s window: it must come 25 s in
    policy = {
        "room_scan": {"pre_exam": False, "in_exam_scans": 1, "in_exam_margin_s": 25, "time_limit_s": 10, "retries": 0}
    }
    enrolled = enrol(live_server.url, demo, policy=policy, duration_min=1)

    async def session() -> list[dict[str, Any]]:
        client = LiveClient(live_server.url, enrolled.token)
        try:
            await client.open()
            await client.consent()  # the candidate accepts the proctoring terms
            await client.ready()
            await client.connect(live_media.whole)
            await client.wait_for(lambda m: m.get("state") == "in_progress", 60)
            request = await client.wait_for(lambda m: m.get("type") == "scan_request", 60)
            assert request["request"]["kind"] == "in_exam"
            await client.send({"type": "scan_started"})
            await client.send({"type": "scan_finished"})  # the candidate does not turn the camera
            await client.wait_for(lambda m: m.get("type") == "scan_result", 30)
            await client.finish()
            return client.messages
        finally:
            await client.close()

    messages = asyncio.run(session())
    exam_from = next(m["session_time_s"] for m in messages if m.get("state") == "in_progress")
    (request,) = [m["request"] for m in messages if m["type"] == "scan_request"]
    (result,) = [m for m in messages if m["type"] == "scan_result"]
    assert not result["complete"] and not result["retry"] and result["kind"] == "in_exam"
    # Bounded by the server's own readings around it, not by a tolerance: not before 25 s after the exam began
    # (the exam clock starts after `exam_from` is read, the request fires on it), and no later than the server
    # took the candidate's start of the scan, which the client sent once the request reached it. How late the
    # request fires on a busy machine (the move to in_progress is written first) is the machine's, not the code's.
    tick = 0.02  # times are rounded to ms; the timer runs on the monotonic clock, session times on the wall clock
    assert exam_from + 25.0 - tick <= request["at_s"] <= result["started_s"]
    events = {e["type"]: e for e in events_of(live_server, enrolled.session_id)}
    assert events["room_scan_requested"]["start_s"] == pytest.approx(request["at_s"], abs=0.01)
    assert events["room_scan_incomplete"]["start_s"] >= request["at_s"]
