"""The server's log holds the platform's lines only: no native notices of the models (TensorFlow Lite, absl),
no protobuf deprecations, and no semaphores leaked at a clean shutdown (SIGTERM)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from proctor.nativelog import NATIVE_LOGS_ENV
from tests.fixtures.scenarios import Scenario
from tests.servers import SERVER_KEY as KEY
from tests.servers import free_port, server

NOISE = (
    "INFO: Created TensorFlow Lite",
    "W0000",
    "absl::InitializeLog",
    "All log messages before absl",
    "GetPrototype() is deprecated",
    "leaked semaphore",
)


def group_ended(pgid: int, within_s: float) -> bool:
    """Whether every process of the group (the resource tracker too) has ended within `within_s`."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_server_log_has_no_native_noise(demo: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NATIVE_LOGS_ENV, raising=False)
    log, port = tmp_path / "server.log", free_port()
    with server(tmp_path / "data", port, log=log) as process:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {KEY}"}) as client:
            exam = client.post("/api/v1/exams", json={"title": "Quiet", "attestation": "interim"}).json()
            candidate = client.post(
                f"/api/v1/exams/{exam['id']}/candidates",
                data={"external_id": "S-1", "full_name": "Aigerim"},
                files={"photo": ("ref.jpg", demo.reference.read_bytes(), "image/jpeg")},
                timeout=60,
            ).json()
            session = client.post(f"/api/v1/exams/{exam['id']}/sessions", json={"candidate_id": candidate["id"]})
            session_id = session.json()["id"]
            upload = client.post(
                f"/api/v1/sessions/{session_id}/recording",
                files={"file": ("exam.mp4", demo.video.read_bytes(), "video/mp4")},
                timeout=60,
            )
            assert upload.status_code == 202
            deadline = time.monotonic() + 240
            while client.get(f"/api/v1/sessions/{session_id}").json()["analysis"] != "done":
                assert time.monotonic() < deadline, "the analysis did not finish"
                time.sleep(0.5)
        process.send_signal(signal.SIGTERM)  # as systemd stops it
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
        assert group_ended(process.pid, 15)
    text = log.read_text(errors="replace")
    assert "analysis of session" in text and "Finished server process" in text  # the platform's own lines stay
    assert [line for line in text.splitlines() if any(noise in line for noise in NOISE)] == []
