"""A server killed during analysis loses nothing: after a restart the job re-runs and events are not duplicated."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.fixtures.scenarios import Scenario
from tests.servers import SERVER_KEY as KEY
from tests.servers import free_port, server


def children(pid: int) -> set[int]:
    """Processes whose parent is `pid` (read from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def session_state(client: httpx.Client, session_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/sessions/{session_id}").json()
    return body


@pytest.mark.slow
def test_killed_during_analysis_resumes_without_duplicates(demo: Scenario, tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {KEY}"}
    with server(data, port):
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            exam = client.post("/api/v1/exams", json={"title": "Interim: Physics", "attestation": "interim"}).json()
            candidate = client.post(
                f"/api/v1/exams/{exam['id']}/candidates",
                data={"external_id": "S-7", "full_name": "Arman"},
                files={"photo": ("ref.jpg", demo.reference.read_bytes(), "image/jpeg")},
            ).json()
            session = client.post(f"/api/v1/exams/{exam['id']}/sessions", json={"candidate_id": candidate["id"]}).json()
            upload = client.post(
                f"/api/v1/sessions/{session['id']}/recording",
                files={"file": ("exam.mp4", demo.video.read_bytes(), "video/mp4")},
            )
            assert upload.status_code == 202
            # a safety net only: the slot's process starts and loads its models (within START_S, 120 s) first
            deadline = time.monotonic() + 240
            while session_state(client, session["id"])["analysis"] != "running" and time.monotonic() < deadline:
                time.sleep(0.1)
            assert session_state(client, session["id"])["analysis"] == "running"
        # leaving the block kills the server and its analysis process mid-job

    with server(data, port), httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and session_state(client, session["id"])["analysis"] != "done":
            time.sleep(0.5)
        state = session_state(client, session["id"])
        assert (state["analysis"], state["status"]) == ("done", "analysed")
        events = client.get(f"/api/v1/sessions/{session['id']}/events").json()
        assert events and len({e["seq"] for e in events}) == len(events)

    engine = create_engine(f"sqlite:///{data / 'proctor.db'}")
    with engine.connect() as connection:
        runs = connection.execute(text("SELECT DISTINCT analysis_run FROM session_events")).scalars().all()
        attempts = connection.execute(text("SELECT job_attempts FROM exam_sessions")).scalar_one()
        analyses = connection.execute(text("SELECT count(*) FROM ledger_entries WHERE kind = 'proctoring_analysis'"))
        assert runs == [1]
        assert attempts == 2  # the killed run and the resumed one
        assert analyses.scalar_one() == 1
    engine.dispose()


@pytest.mark.slow
def test_killing_the_server_leaves_no_analysis_worker_behind(demo: Scenario, tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    headers = {"Authorization": f"Bearer {KEY}"}
    with server(data, port) as process, httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
        exam = client.post("/api/v1/exams", json={"title": "Interim: Physics", "attestation": "interim"}).json()
        candidate = client.post(
            f"/api/v1/exams/{exam['id']}/candidates",
            data={"external_id": "S-8", "full_name": "Dana"},
            files={"photo": ("ref.jpg", demo.reference.read_bytes(), "image/jpeg")},
            timeout=60,
        ).json()
        session = client.post(f"/api/v1/exams/{exam['id']}/sessions", json={"candidate_id": candidate["id"]}).json()
        upload = client.post(
            f"/api/v1/sessions/{session['id']}/recording",
            files={"file": ("exam.mp4", demo.video.read_bytes(), "video/mp4")},
            timeout=60,
        )
        assert upload.status_code == 202
        deadline = time.monotonic() + 60
        while session_state(client, session["id"])["analysis"] != "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = children(process.pid)
        assert workers, "the analysis runs in worker processes"
        os.kill(process.pid, signal.SIGKILL)  # the server alone, not its process group
        process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in workers if alive(pid)], "worker processes outlived the server"
