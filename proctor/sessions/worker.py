"""The analysis worker of one platform node: claims queued jobs from the database and runs them on an
executor — local worker processes, or actors on a Ray cluster — `executor.slots` at a time.

The queue is the database (see `Analyses`), so several nodes share it: each claims what it has room
for — a slot claims only while its executor is available and its worker is started and warm — renews
the leases of the jobs it runs, and re-queues the running jobs of a node that stopped renewing (it died,
or a start ran past its deadline). On start a node re-queues the jobs it held itself before it
restarted. A job whose worker was lost, or that ran past its deadline, goes back to the queue and waits
a while (longer after each start) before it runs again; it is given up after `MAX_ATTEMPTS` starts. A
start lost through the platform's own trouble (the executor away, the node stopping) does not count.
A job that fails by itself is recorded as failed. No thread dies of a failure: when the database is
away, the threads log, back off and try again. Every result is persisted once (see `Analyses.finish`).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from proctor.jobs.executor import Executor, JobFailed, LocalExecutor, WorkerLost
from proctor.logcontext import about_session
from proctor.sessions.analyses import Deadline
from proctor.sessions.job import AnalysisJob
from proctor.sessions.service import SessionService
from proctor.sessions.tables import SessionRow

logger = logging.getLogger(__name__)

OnAnalysed = Callable[[SessionRow], None]
T = TypeVar("T")

MAX_BACKOFF_S = 60.0
LEASE_S = 30.0
POLL_S = 1.0
RETRY_S = 10.0
"""A job given back after its worker was lost runs again after this, doubled for each earlier start (once, not
doubled, when the start was not counted: the slots wait for the executor to be back anyway)."""
MAX_RETRY_S = 600.0
START_S = 120.0
MAX_START_BACKOFF_S = 30.0
"""Seconds a slot's worker (a process, or a Ray actor) may take to start and load its models."""


DURATION_BOUNDS_S = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
"""Upper bounds of the analysis-time histogram's buckets."""


@dataclass
class WorkerStats:
    """What this node's worker has done since it started (read by /metrics)."""

    done: int = 0
    failed: int = 0
    lost: int = 0
    discarded: int = 0
    """Results not kept: the job was no longer this start's (taken over after its lease ran out)."""
    running: int = 0
    recorded_s: float = 0.0
    """Seconds of recording analysed."""
    analysis_s: float = 0.0
    """Wall seconds spent on the finished jobs."""
    within: list[int] = field(default_factory=lambda: [0] * len(DURATION_BOUNDS_S))
    """Finished jobs that took at most each bound of `DURATION_BOUNDS_S` (cumulative, as Prometheus wants)."""

    def finished(self, wall_s: float, recorded_s: float) -> None:
        self.done += 1
        self.analysis_s += wall_s
        self.recorded_s += recorded_s
        self.within = [count + (wall_s <= bound) for count, bound in zip(self.within, DURATION_BOUNDS_S, strict=True)]


class AnalysisWorker:
    """Dispatcher threads (one per executor slot) and a lease keeper, for one platform node."""

    def __init__(
        self,
        service: SessionService,
        processes: int = 1,
        on_analysed: OnAnalysed | None = None,
        *,
        executor: Executor | None = None,
        node: str | None = None,
        lease_s: float = LEASE_S,
        poll_s: float = POLL_S,
        deadline: Deadline | None = None,
        retry_s: float = RETRY_S,
        start_s: float = START_S,
    ) -> None:
        self.service = service
        self.executor = executor or LocalExecutor(processes)
        self.on_analysed = on_analysed
        self.node = node or socket.gethostname()
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.deadline = deadline or Deadline()
        self.retry_s = retry_s
        self.start_s = start_s
        self.stats = WorkerStats()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._busy = 0

    def start(self, resume: bool = True) -> None:
        """Start the threads; with `resume`, first re-queue the jobs this node held when it stopped."""
        if resume:
            self._retry("re-queue this node's jobs", lambda: self.service.analyses.requeue_lost(self.node), always=True)
        self._threads = [
            threading.Thread(target=self._dispatch, args=(slot,), name=f"analysis-{slot}", daemon=True)
            for slot in range(self.executor.slots)
        ]
        self._threads.append(threading.Thread(target=self._keep_leases, name="analysis-leases", daemon=True))
        for thread in self._threads:
            thread.start()
        logger.info("analysis worker of node %s started: %s", self.node, self.executor.describe())

    def submit(self, session_id: str) -> None:
        """A job was queued (it is in the database already): look for work now rather than at the next poll."""
        logger.debug("session %s queued for analysis", session_id)
        self._wake.set()

    def healthy(self) -> bool:
        return not self._stopping.is_set() and self.executor.healthy()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running and this worker is idle (for tests and orderly shutdown)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            with self._lock:
                busy = self._busy
            if busy == 0:
                try:
                    if not self.service.analyses.pending():
                        return True
                except Exception:  # the database is away: not idle yet
                    logger.debug("could not read the job queue while waiting for it to empty")
            self._wake.set()
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Stop the threads and the workers; jobs running now go back to the queue for another node."""
        self._stopping.set()
        self._wake.set()
        self.executor.close()
        for thread in self._threads:
            thread.join(timeout=30)

    # -- the threads --------------------------------------------------------------------------------

    def _dispatch(self, slot: int) -> None:
        failed_starts = 0
        while not self._stopping.is_set():
            # claim nothing a worker could not take now: the jobs stay queued for this node or another
            if not self._available():
                self._stopping.wait(self.poll_s)
                continue
            if not self._prepared(slot):
                failed_starts += 1
                self._stopping.wait(min(MAX_START_BACKOFF_S, self.poll_s * 2.0**failed_starts))
                continue
            failed_starts = 0
            with self._lock:
                self._busy += 1
            try:
                job = self._retry(
                    "claim a job",
                    lambda: self.service.analyses.claim(self.node, self.lease_s, self.deadline),
                    always=True,
                )
                if job is not None:
                    self._run(slot, job)
            finally:
                with self._lock:
                    self._busy -= 1
            if job is None:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def _available(self) -> bool:
        try:
            return self.executor.healthy()
        except Exception:  # an executor's trouble must not end the dispatcher
            logger.exception("could not ask the executor whether it is available")
            return False

    def _prepared(self, slot: int) -> bool:
        """This slot's worker is started and warm (started now if need be, within `start_s`)."""
        try:
            return self.executor.prepare(slot, self.start_s)
        except Exception:  # an executor's trouble must not end the dispatcher
            logger.exception("analysis slot %d could not be prepared", slot)
            return False

    def _run(self, slot: int, job: AnalysisJob) -> None:
        analyses = self.service.analyses
        with about_session(job.session_id):
            logger.info("analysing session %s (%.0f s of recording) on slot %d", job.session_id, job.duration_s, slot)
            started = time.monotonic()
            with self._lock:
                self.stats.running += 1
            try:
                result = self.executor.run(slot, job, lambda share, where: self._progress(job, share, where))
            except WorkerLost as exc:
                refund = self._stopping.is_set() or exc.infrastructure
                retry_after = self.retry_s if refund else self.retry_after(job.attempt)
                logger.error(
                    "analysis of session %s interrupted: %s; it goes back to the queue (again in %.0f s%s)",
                    job.session_id,
                    exc,
                    retry_after,
                    ", not counted as a start" if refund else "",
                )
                self._count("lost")
                reason = f"start {job.attempt} interrupted: {exc}"
                self._retry(
                    "give the job back",
                    lambda: analyses.release(
                        job.session_id, job.claim, refund=refund, reason=reason, retry_after_s=retry_after
                    ),
                    always=True,
                )
                return
            except JobFailed as exc:
                logger.warning("analysis of session %s failed: %s", job.session_id, exc)
                self._count("failed")
                reason = str(exc)
                self._retry("record the failure", lambda: analyses.fail(job.session_id, reason, job.claim), always=True)
                return
            except Exception:
                logger.exception("analysis of session %s failed", job.session_id)
                self._count("failed")
                failure = "internal error; see the server log"
                self._retry(
                    "record the failure", lambda: analyses.fail(job.session_id, failure, job.claim), always=True
                )
                return
            finally:
                with self._lock:
                    self.stats.running -= 1
            try:
                row = self._retry("record the result", lambda: analyses.finish(result, job.claim))
            except Exception:
                logger.exception("the result of session %s could not be kept", job.session_id)
                self._count("failed")
                failure = "the result could not be kept; see the server log"
                self._retry(
                    "record the failure", lambda: analyses.fail(job.session_id, failure, job.claim), always=True
                )
                return
            if row is None:
                logger.info("the result of session %s was not kept: the job is no longer this start's", job.session_id)
                self._count("discarded")
                return
            with self._lock:
                self.stats.finished(time.monotonic() - started, job.duration_s)
            logger.info("analysis of session %s done on %s", job.session_id, result.worker or "this node")
            if self.on_analysed is not None:
                try:
                    self.on_analysed(row)
                except Exception:  # a webhook's trouble is not the analysis's
                    logger.exception("after the analysis of session %s", job.session_id)

    def retry_after(self, attempt: int) -> float:
        """Seconds a job given back after its `attempt`-th start waits before it runs again."""
        return min(MAX_RETRY_S, self.retry_s * 2.0 ** max(0, attempt - 1))

    def _progress(self, job: AnalysisJob, share: float, where: str) -> None:
        try:
            self.service.analyses.progress(job.session_id, share, job.claim, where)
        except Exception:  # progress is a courtesy: never let it stop the job
            logger.exception("could not record the progress of session %s", job.session_id)

    def _keep_leases(self) -> None:
        """Renew this node's leases and re-queue the jobs of nodes that stopped renewing theirs."""
        every = max(0.5, self.lease_s / 3)
        while not self._stopping.wait(every):
            try:
                self.service.analyses.renew(self.node, self.lease_s)
                if self.service.analyses.requeue_lost():
                    self._wake.set()
            except Exception:
                logger.exception("could not renew the leases of node %s", self.node)

    def _count(self, outcome: str) -> None:
        with self._lock:
            setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)

    def _retry(self, what: str, action: Callable[[], T], *, always: bool = False) -> T | None:
        """Run a database step until it succeeds, backing off while the database is away (None if stopped).
        Other errors are raised, unless `always` (a dispatcher loop that must never die)."""
        attempt = 0
        while True:
            try:
                return action()
            except Exception as exc:
                if not always and not _transient(exc):
                    raise
                if self._stopping.is_set():
                    logger.exception("could not %s while stopping", what)
                    return None
                delay = min(MAX_BACKOFF_S, 2.0**attempt)
                attempt += 1
                logger.exception("could not %s; the database may be away, retrying in %.0f s", what, delay)
                self._stopping.wait(delay)


def _transient(exc: Exception) -> bool:
    """An error of reaching the database (worth waiting out), not of what was asked of it."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
