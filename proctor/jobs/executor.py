"""The executor interface, and the local one: `slots` long-lived worker processes, one job each at a time.

Each slot is a spawned process that loads the models once and serves job after job over a pipe; its
progress comes back over the same pipe. A slot whose process dies is started afresh on its next job,
and the job it was running is reported lost (the dispatcher gives it back to the queue). Processes
exit by themselves when the server that started them dies.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Protocol

from proctor.nativelog import silence_native_stderr
from proctor.orphans import exit_with_parent
from proctor.sessions.job import AnalysisJob, JobResult, WarmModels, run_job

logger = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]
"""Hears (share of the recording analysed, where the job runs) while a job runs."""

POLL_S = 0.5


class WorkerLost(RuntimeError):
    """The worker running a job went away (killed, out of memory, stopped): the job should run again."""


class JobFailed(RuntimeError):
    """The analysis itself failed (an unreadable recording, say): running it again would fail again."""


class Executor(Protocol):
    """Runs analysis jobs in workers that keep their models warm."""

    @property
    def slots(self) -> int:
        """How many jobs may run at once (one dispatcher thread each)."""
        ...

    def run(self, slot: int, job: AnalysisJob, progress: ProgressFn) -> JobResult:
        """Run `job` on slot `slot` and wait for it; raises WorkerLost or JobFailed."""
        ...

    def healthy(self) -> bool:
        """Whether the executor can run jobs now (for readiness checks; cheap)."""
        ...

    def describe(self) -> str:
        """One line for the log and the readiness answer."""
        ...

    def close(self) -> None:
        """Stop every worker; jobs running now end with WorkerLost."""
        ...


def _serve(conn: Connection, parent_pid: int) -> None:
    """A slot's process: serve jobs from the pipe until it closes (or the server dies)."""
    silence_native_stderr()  # the models' native start-up notices would fill the server's log
    exit_with_parent(parent_pid)
    models = WarmModels()
    where = f"local:{socket.gethostname()}:{os.getpid()}"

    def progress(_session: str, share: float) -> None:
        conn.send(("progress", share))

    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        conn.send(("progress", 0.0))  # the job has started here
        try:
            result = run_job(job, progress, models=models, worker=where)
        except Exception as exc:  # the job's failure, reported to the dispatcher
            conn.send(("failed", f"{exc}" or type(exc).__name__))
        else:
            conn.send(("done", result))


class _Slot:
    """One worker process and the pipe to it."""

    def __init__(self, context: Any) -> None:
        self._context = context
        self.conn: Connection | None = None
        self.process: Any = None
        self.where = ""

    def ensure(self) -> None:
        if self.process is not None and self.process.is_alive():
            return
        if self.conn is not None:
            self.conn.close()
        self.conn, child = self._context.Pipe()
        self.process = self._context.Process(target=_serve, args=(child, os.getpid()), daemon=True)
        self.process.start()
        child.close()
        self.where = f"local:{socket.gethostname()}:{self.process.pid}"

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=10)
        if self.conn is not None:
            self.conn.close()


class LocalExecutor:
    """`slots` spawned worker processes on this machine, truly in parallel (one job each)."""

    def __init__(self, slots: int = 1) -> None:
        self._slots = [_Slot(multiprocessing.get_context("spawn")) for _ in range(slots)]
        self._closing = threading.Event()

    @property
    def slots(self) -> int:
        return len(self._slots)

    def run(self, slot: int, job: AnalysisJob, progress: ProgressFn) -> JobResult:
        if self._closing.is_set():
            raise WorkerLost("the executor is closing")
        worker = self._slots[slot]
        worker.ensure()
        assert worker.conn is not None
        try:
            worker.conn.send(job)
            while True:
                if worker.conn.poll(POLL_S):
                    kind, value = worker.conn.recv()
                    if kind == "progress":
                        progress(float(value), worker.where)
                    elif kind == "done":
                        result: JobResult = value
                        return result
                    else:
                        raise JobFailed(str(value))
                elif self._closing.is_set() or not worker.process.is_alive():
                    raise WorkerLost(f"worker process {worker.where} ended during the job")
        except (EOFError, OSError) as exc:
            raise WorkerLost(f"worker process {worker.where} ended during the job ({exc})") from exc

    def healthy(self) -> bool:
        return not self._closing.is_set()

    def describe(self) -> str:
        return f"{len(self._slots)} local analysis process(es)"

    def close(self) -> None:
        self._closing.set()
        for worker in self._slots:
            worker.stop()
