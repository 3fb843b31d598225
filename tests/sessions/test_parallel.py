"""`PROCTOR_ANALYSIS_WORKERS=2` analyses two recordings at once, each in its own worker process, and a worker
process killed mid-job is replaced: its job runs again and is kept once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from footprint.ledger.tables import EntryRow
from proctor.sessions.tables import SessionRow
from proctor.sessions.worker import AnalysisWorker
from tests.fixtures.scenarios import Scenario
from tests.sessions.conftest import Platform
from tests.sessions.test_service import enrol, upload_of


def jobs(platform: Platform, ids: list[str]) -> dict[str, tuple[str, str | None, int]]:
    with platform.service.sessions() as db:
        rows = db.scalars(select(SessionRow).where(SessionRow.id.in_(ids))).all()
        return {row.id: (row.job_state, row.job_worker, row.job_attempts) for row in rows}


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_two_workers_analyse_two_recordings_at_once(platform: Platform, demo: Scenario, tmp_path: Path) -> None:
    service = platform.service
    exam_id, candidate_id = enrol(platform, demo)
    ids = []
    for _ in range(2):
        row, _ = service.create_session(platform.college, exam_id, candidate_id)
        service.recordings.accept(platform.college, row.id, upload_of(demo.video, tmp_path / "in"))
        ids.append(row.id)
    worker = AnalysisWorker(service, processes=2, node="test-node")
    together: set[str | None] = set()
    worker.start()
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            state = jobs(platform, ids)
            running = [where for job_state, where, _ in state.values() if job_state == "running" and where]
            if len(running) == 2:
                together = set(running)
            if all(job_state == "done" for job_state, _, _ in state.values()):
                break
            time.sleep(0.05)
        assert worker.wait_idle(timeout=60)
    finally:
        worker.stop()
    assert len(together) == 2, "the two jobs never ran at the same time in two processes"
    assert all(where is not None and where.startswith("local:") for where in together)
    done = jobs(platform, ids)
    assert {job_state for job_state, _, _ in done.values()} == {"done"}
    assert {where for _, where, _ in done.values()} == together  # each finished where it ran
    assert worker.stats.done == 2 and worker.stats.recorded_s == pytest.approx(2 * demo.duration_s, abs=0.5)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_worker_process_killed_mid_job_is_replaced_and_the_job_kept_once(
    platform: Platform, demo: Scenario, tmp_path: Path
) -> None:
    service = platform.service
    exam_id, candidate_id = enrol(platform, demo)
    row, _ = service.create_session(platform.college, exam_id, candidate_id)
    service.recordings.accept(platform.college, row.id, upload_of(demo.video, tmp_path / "in"))
    worker = AnalysisWorker(service, processes=1, node="test-node")
    worker.start()
    try:
        deadline = time.monotonic() + 120
        where: str | None = None
        while time.monotonic() < deadline and where is None:
            job_state, where, _ = jobs(platform, [row.id])[row.id]
            time.sleep(0.05)
        assert where is not None and job_state == "running"
        killed = int(where.rsplit(":", 1)[1])
        os.kill(killed, signal.SIGKILL)
        assert worker.wait_idle(timeout=240)
    finally:
        worker.stop()
    job_state, finished_on, attempts = jobs(platform, [row.id])[row.id]
    assert (job_state, attempts) == ("done", 2)  # the lost start, and the one that finished
    assert finished_on is not None and not finished_on.endswith(f":{killed}")
    assert worker.stats.lost == 1 and worker.stats.done == 1
    with service.sessions() as db:
        kept = db.scalar(select(func.count()).select_from(EntryRow).where(EntryRow.kind == "proctoring_analysis"))
    assert kept == 1
