"""`PROCTOR_ANALYSIS_WORKERS=2` analyses two recordings at once, each in its own worker process; a worker
process killed mid-job is replaced: its job runs again and is kept once; a worker that hangs is stopped at
its job's deadline and the job runs again in a new one; and the platform's own trouble (an executor that
is away, a worker that cannot be started) never costs a job one of its starts."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from deploy.processes import alive
from footprint.ledger.tables import EntryRow
from proctor.jobs import LocalExecutor, ProgressFn, WorkerLost
from proctor.sessions.analyses import Deadline
from proctor.sessions.clock import db_time
from proctor.sessions.job import AnalysisJob, JobResult
from proctor.sessions.tables import ChunkRow, SessionRow
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
    # Both processes are started and warm before the worker claims: a slot whose process is slow to load its
    # models on a busy machine would otherwise leave both jobs to the other slot, one after the other.
    executor = LocalExecutor(2)
    worker = AnalysisWorker(service, executor=executor, node="test-node")
    together: set[str | None] = set()
    try:
        assert all(executor.prepare(slot, timeout_s=240) for slot in range(executor.slots))
        worker.start()
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
    platform: Platform, demo: Scenario, long_demo: Path, tmp_path: Path
) -> None:
    service = platform.service
    exam_id, candidate_id = enrol(platform, demo)
    row, _ = service.create_session(platform.college, exam_id, candidate_id)
    service.recordings.accept(platform.college, row.id, upload_of(long_demo, tmp_path / "in"))
    worker = AnalysisWorker(service, processes=1, node="test-node", retry_s=0.5)
    worker.start()
    try:
        # killed once it has done some of the recording and most is left (progress comes every 2 s of a
        # job that takes several times that, however fast the machine)
        wait_for(lambda: 0.0 < (progress(platform, row.id) or 0.0) <= 0.5)
        where = jobs(platform, [row.id])[row.id][1]
        assert where is not None
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


def progress(platform: Platform, session_id: str) -> float | None:
    with platform.service.sessions() as db:
        row = db.get(SessionRow, session_id)
        return None if row is None or row.job_state != "running" else row.job_progress


def jobs_duration(platform: Platform, session_id: str) -> float:
    """The length of a session's timeline (the end of its last chunk)."""
    end = func.max(ChunkRow.start_s + ChunkRow.duration_s)
    with platform.service.sessions() as db:
        return float(db.scalar(select(end).where(ChunkRow.session_id == session_id)) or 0.0)


def queue_recording(platform: Platform, demo: Scenario, recording: Path, folder: Path) -> str:
    exam_id, candidate_id = enrol(platform, demo)
    row, _ = platform.service.create_session(platform.college, exam_id, candidate_id)
    platform.service.recordings.accept(platform.college, row.id, upload_of(recording, folder))
    return row.id


def wait_for(check: Callable[[], bool], timeout_s: float = 240.0) -> None:
    """Poll `check()` until it is true (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("the condition never held")


@dataclass(frozen=True)
class ShortOnce(Deadline):
    """`short` for the next start claimed (the one that hangs), the default deadline for every start after it: the
    start in a new process must not be held to a deadline that a busy machine could make it miss."""

    short: Deadline = Deadline(1.0, 15.0)
    given: list[float] = field(default_factory=list)

    def seconds(self, duration_s: float) -> float:
        allowed = super().seconds(duration_s) if self.given else self.short.seconds(duration_s)
        self.given.append(allowed)
        return allowed


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_hung_worker_is_stopped_at_the_deadline_and_the_job_runs_again(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    service = platform.service
    first = queue_recording(platform, demo, media / "single_face.mp4", tmp_path / "first")
    worker = AnalysisWorker(service, node="test-node", retry_s=0.5, poll_s=0.2)  # the default deadline: ample
    worker.start()
    try:
        assert worker.wait_idle(timeout=240)
        idle = jobs(platform, [first])[first][1]
        assert idle is not None and idle.startswith("local:")
        hung = int(idle.rsplit(":", 1)[1])
        os.kill(hung, signal.SIGSTOP)  # the worker process hangs, waiting for its next job
        worker.deadline = ShortOnce()  # that start is stopped 15 s (plus the recording's length) after its claim
        second = queue_recording(platform, demo, media / "single_face.mp4", tmp_path / "second")
        worker.submit(second)
        assert worker.wait_idle(timeout=240)
    finally:
        worker.stop()
    job_state, finished_on, attempts = jobs(platform, [second])[second]
    assert (job_state, attempts) == ("done", 2)  # the hung start, and the one in a new process
    assert finished_on is not None and not finished_on.endswith(f":{hung}")
    assert not alive(hung)  # stopped for good
    assert worker.stats.lost == 1 and worker.stats.done == 2
    assert isinstance(worker.deadline, ShortOnce) and len(worker.deadline.given) == 2  # the hung start, and its rerun
    with service.sessions() as db:
        row = db.get(SessionRow, second)
        assert row is not None and row.job_error is None and row.analysis_run == 1


class Switch:
    """An executor that is away until switched on, then the local one (a Ray cluster that comes back)."""

    def __init__(self, slots: int = 1) -> None:
        self.local = LocalExecutor(slots)
        self.on = False
        self.asked = 0
        self.lose_next = False

    @property
    def slots(self) -> int:
        return self.local.slots

    def prepare(self, slot: int, timeout_s: float) -> bool:
        return self.local.prepare(slot, timeout_s)

    def run(self, slot: int, job: AnalysisJob, progress: ProgressFn) -> JobResult:
        if self.lose_next:  # the cluster goes away under the job
            self.lose_next = False
            raise WorkerLost("the Ray cluster stopped answering", infrastructure=True)
        return self.local.run(slot, job, progress)

    def healthy(self) -> bool:
        self.asked += 1
        return self.on

    def describe(self) -> str:
        return "a switch"

    def close(self) -> None:
        self.local.close()


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_jobs_wait_while_the_executor_is_away_and_lose_no_start_to_it(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    session_id = queue_recording(platform, demo, media / "single_face.mp4", tmp_path)
    executor = Switch()
    worker = AnalysisWorker(platform.service, executor=executor, node="test-node", retry_s=0.5, poll_s=0.2)
    worker.start()
    try:
        wait_for(lambda: executor.asked >= 5)  # the slot looked five times: away, so it claimed nothing
        assert jobs(platform, [session_id])[session_id] == ("queued", None, 0)
        executor.lose_next, executor.on = True, True
        assert worker.wait_idle(timeout=240)
    finally:
        worker.stop()
    job_state, _, attempts = jobs(platform, [session_id])[session_id]
    assert (job_state, attempts) == ("done", 1)  # the start lost with the cluster was not counted
    assert worker.stats.lost == 1 and worker.stats.done == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_worker_that_cannot_start_is_the_platforms_trouble(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    session_id = queue_recording(platform, demo, media / "single_face.mp4", tmp_path)
    executor = LocalExecutor(1, start_s=0)  # no process can load its models in no time
    try:
        assert not executor.prepare(0, timeout_s=0)
        job = platform.service.analyses.claim("test-node", lease_s=30)
        assert job is not None
        with pytest.raises(WorkerLost) as lost:
            executor.run(0, job, lambda share, where: None)
        assert lost.value.infrastructure and "did not start" in str(lost.value)
    finally:
        executor.close()
    assert jobs(platform, [session_id])[session_id][0] == "running"  # not failed: the dispatcher gives it back


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_result_that_is_not_kept_is_not_counted_as_done(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    service = platform.service
    first = queue_recording(platform, demo, media / "single_face.mp4", tmp_path / "first")
    worker = AnalysisWorker(service, node="test-node", poll_s=0.2)
    worker.start()
    try:
        assert worker.wait_idle(timeout=240)
        idle = jobs(platform, [first])[first][1]
        assert idle is not None
        paused = int(idle.rsplit(":", 1)[1])
        os.kill(paused, signal.SIGSTOP)  # the worker process waits, its next job will not start yet
        second = queue_recording(platform, demo, media / "single_face.mp4", tmp_path / "second")
        worker.submit(second)
        wait_for(lambda: jobs(platform, [second])[second][0] == "running")
        with service.store.write() as db:  # meanwhile another node took the job over
            db.execute(
                update(SessionRow)
                .where(SessionRow.id == second)
                .values(job_claim="another-start", job_node="node-b", job_lease_until=db_time(3600))
            )
        os.kill(paused, signal.SIGCONT)
        wait_for(lambda: worker.stats.discarded == 1)
    finally:
        worker.stop()
    assert (worker.stats.done, worker.stats.discarded) == (1, 1)  # only the first job's result was kept
    assert worker.stats.recorded_s == pytest.approx(jobs_duration(platform, first), abs=0.01)
    assert jobs(platform, [second])[second][0] == "running"  # still the other start's
