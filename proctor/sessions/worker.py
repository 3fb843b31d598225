"""The analysis worker: runs queued session analyses in worker processes, off the web server's loop.

On start it re-queues every session whose job was queued or running when the server stopped, so a
restart loses nothing; the service persists each result once (a duplicate run is ignored). The
dispatcher thread never dies of a failure: when even recording a job's failure fails (the database
is down), it logs, waits with backoff and tries the job again. Worker processes exit on their own when
the server that started them dies, so a killed server leaves no orphan analysing on.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from proctor.nativelog import silence_native_stderr
from proctor.orphans import exit_with_parent
from proctor.sessions.job import AnalysisJob, JobResult, run_job
from proctor.sessions.service import SessionService
from proctor.sessions.tables import SessionRow

logger = logging.getLogger(__name__)

OnAnalysed = Callable[[SessionRow], None]

MAX_BACKOFF_S = 60.0

_progress: Any = None  # the worker process's queue back to the server (set by the pool initializer)


def _worker_init(progress: Any, parent_pid: int) -> None:
    """In each worker process: keep the progress queue, and exit as soon as the server process is gone."""
    global _progress
    _progress = progress
    silence_native_stderr()  # the models' native start-up notices would fill the server's log
    exit_with_parent(parent_pid)


def _report(session_id: str, share: float) -> None:
    if _progress is not None:
        _progress.put((session_id, share))


def _run_in_worker(job: AnalysisJob) -> JobResult:
    return run_job(job, _report)


class AnalysisWorker:
    """One dispatcher thread feeding a pool of `processes` analysis processes (spawned, not forked)."""

    def __init__(self, service: SessionService, processes: int = 1, on_analysed: OnAnalysed | None = None) -> None:
        self.service = service
        self.processes = processes
        self.on_analysed = on_analysed
        self._context = multiprocessing.get_context("spawn")
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._progress: Any = self._context.Queue()
        self._pool: ProcessPoolExecutor | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self._busy = 0

    def start(self, resume: bool = True) -> None:
        """Start the processes and threads; with `resume`, re-queue the jobs left queued or running."""
        self._pool = self._new_pool()
        self._threads = [
            threading.Thread(target=self._run, name="analysis-dispatcher", daemon=True),
            threading.Thread(target=self._record_progress, name="analysis-progress", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        for session_id in self.service.analyses.pending() if resume else []:
            logger.info("resuming analysis of session %s", session_id)
            self.submit(session_id)

    def submit(self, session_id: str) -> None:
        with self._idle:
            self._busy += 1
        self._queue.put(session_id)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted job has finished (for tests and orderly shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def stop(self) -> None:
        self._stopping.set()
        self._queue.put(None)
        self._progress.put(None)
        for thread in self._threads:
            thread.join(timeout=30)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._progress.close()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.processes, mp_context=self._context, initializer=_worker_init, initargs=(self._progress, os.getpid())
        )

    def _run(self) -> None:
        while True:
            session_id = self._queue.get()
            if session_id is None:
                return
            try:
                self._run_until_recorded(session_id)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def _run_until_recorded(self, session_id: str) -> None:
        """Run a job until its result or its failure is recorded; backs off while the database is down."""
        attempt = 0
        while not self._stopping.is_set():
            try:
                self._analyse(session_id)
                return
            except Exception:
                logger.exception("analysis of session %s failed", session_id)
            try:
                self.service.analyses.fail(session_id, "internal error; see the server log")
                return
            except Exception:
                delay = min(MAX_BACKOFF_S, 2.0**attempt)
                attempt += 1
                logger.exception("could not record the failure of session %s; retrying in %.0f s", session_id, delay)
                self._stopping.wait(delay)

    def _analyse(self, session_id: str) -> None:
        job = self.service.analyses.start(session_id)
        if job is None or self._pool is None:
            return
        try:
            result = self._pool.submit(_run_in_worker, job).result()
        except BrokenProcessPool:
            # a process died under the job (killed, out of memory): new processes, and the job again —
            # `start` gives up after MAX_ATTEMPTS, so a file that kills its analyser cannot loop forever
            logger.error("an analysis process died during session %s; starting new ones", session_id)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            self._analyse(session_id)
            return
        except Exception as exc:
            logger.warning("analysis of session %s failed: %s", session_id, exc)
            self.service.analyses.fail(session_id, str(exc))
            return
        row = self.service.analyses.finish(result)
        if row is not None and self.on_analysed is not None:
            self.on_analysed(row)

    def _record_progress(self) -> None:
        while True:
            item = self._progress.get()
            if item is None:
                return
            session_id, share = item
            try:
                self.service.analyses.progress(session_id, share)
            except Exception:  # progress is a courtesy: never let it stop the thread
                logger.exception("could not record the progress of session %s", session_id)
