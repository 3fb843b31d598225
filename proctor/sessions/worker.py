"""The analysis worker: runs queued session analyses in worker processes, off the web server's loop.

On start it re-queues every session whose job was queued or running when the server stopped, so a
restart loses nothing; the service persists each result once (a duplicate run is ignored).
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from proctor.sessions.job import run_job
from proctor.sessions.service import SessionService
from proctor.sessions.tables import SessionRow

logger = logging.getLogger(__name__)

OnAnalysed = Callable[[SessionRow], None]


class AnalysisWorker:
    """One dispatcher thread feeding a pool of `processes` analysis processes (spawned, not forked)."""

    def __init__(self, service: SessionService, processes: int = 1, on_analysed: OnAnalysed | None = None) -> None:
        self.service = service
        self.processes = processes
        self.on_analysed = on_analysed
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._pool: ProcessPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._busy = 0

    def start(self) -> None:
        self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"))
        self._thread = threading.Thread(target=self._run, name="analysis-dispatcher", daemon=True)
        self._thread.start()
        for session_id in self.service.pending_jobs():
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
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        while True:
            session_id = self._queue.get()
            if session_id is None:
                return
            try:
                self._analyse(session_id)
            except Exception:
                logger.exception("analysis of session %s failed", session_id)
                self.service.fail_job(session_id, "internal error; see the server log")
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def _analyse(self, session_id: str) -> None:
        job = self.service.start_job(session_id)
        if job is None or self._pool is None:
            return
        try:
            result = self._pool.submit(run_job, job).result()
        except Exception as exc:
            logger.warning("analysis of session %s failed: %s", session_id, exc)
            self.service.fail_job(session_id, str(exc))
            return
        row = self.service.finish_job(result)
        if row is not None and self.on_analysed is not None:
            self.on_analysed(row)
