"""The executor interface, and the local one: `slots` long-lived worker processes, one job each at a time.

Each slot is a spawned process that loads the models once (it says so before its slot takes a job) and
serves job after job over a pipe; its progress comes back over the same pipe. A slot whose process dies
is started afresh before its next job, and the job it was running is reported lost (the dispatcher gives
it back to the queue); a job still running at its deadline has its process stopped and is reported lost
the same way. Processes exit by themselves when the server that started them dies.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
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
STOP_GRACE_S = 5.0


class WorkerLost(RuntimeError):
    """The worker running a job went away (killed, out of memory, stopped, past the job's deadline): the job
    should run again. `infrastructure`: the platform's own trouble (no worker could be started, the cluster is
    away, the node is stopping), so the start does not count against the job."""

    def __init__(self, message: str, *, infrastructure: bool = False) -> None:
        super().__init__(message)
        self.infrastructure = infrastructure


class JobFailed(RuntimeError):
    """The analysis itself failed (an unreadable recording, say): running it again would fail again."""


class Executor(Protocol):
    """Runs analysis jobs in workers that keep their models warm."""

    @property
    def slots(self) -> int:
        """How many jobs may run at once (one dispatcher thread each)."""
        ...

    def prepare(self, slot: int, timeout_s: float) -> bool:
        """Have slot `slot`'s worker started and its models loaded, waiting at most `timeout_s`; whether it is
        ready. The dispatcher claims a job for a slot only once it is (cheap when it already is)."""
        ...

    def run(self, slot: int, job: AnalysisJob, progress: ProgressFn) -> JobResult:
        """Run `job` on slot `slot` and wait for it, at most `job.deadline_s` (when set); raises WorkerLost or
        JobFailed."""
        ...

    def healthy(self) -> bool:
        """Whether the executor can run jobs now (for readiness checks and before claiming; never blocks)."""
        ...

    def describe(self) -> str:
        """One line for the log and the readiness answer."""
        ...

    def close(self) -> None:
        """Stop every worker; jobs running now end with WorkerLost."""
        ...


def _serve(conn: Connection, parent_pid: int) -> None:
    """A slot's process: load the models, say so, then serve jobs from the pipe until it closes (or the server
    dies)."""
    silence_native_stderr()  # the models' native start-up notices would fill the server's log
    exit_with_parent(parent_pid)
    models = WarmModels()
    models.encoder()
    where = f"local:{socket.gethostname()}:{os.getpid()}"
    conn.send(("ready", where))

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
        self.ready = False
        self._closing = threading.Lock()

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def ensure(self, timeout_s: float) -> None:
        """A running process whose models are loaded; WorkerLost (the platform's trouble) when none could be
        started within `timeout_s`."""
        if self.ready and self.alive():
            return
        self.stop()
        try:
            conn, child = self._context.Pipe()
            self.conn = conn
            process = self.process = self._context.Process(target=_serve, args=(child, os.getpid()), daemon=True)
            process.start()
            child.close()
            deadline = time.monotonic() + timeout_s
            while not conn.poll(min(POLL_S, max(0.0, deadline - time.monotonic()))):
                if not process.is_alive() or time.monotonic() >= deadline:
                    raise WorkerLost(f"an analysis process did not start within {timeout_s:g} s", infrastructure=True)
            kind, self.where = conn.recv()
        except WorkerLost:
            self.stop()
            raise
        except (OSError, EOFError, ValueError) as exc:  # could not start a process, or it died while starting
            self.stop()
            raise WorkerLost(f"an analysis process could not be started: {exc}", infrastructure=True) from exc
        self.ready = kind == "ready"

    def stop(self) -> None:
        """End the process (killed if it does not end by itself: it may be stopped or hung)."""
        self.ready = False
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=STOP_GRACE_S)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(timeout=STOP_GRACE_S)
        with self._closing:  # the dispatcher and the shutdown may stop a slot at once: its pipe is closed once
            conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()


class LocalExecutor:
    """`slots` spawned worker processes on this machine, truly in parallel (one job each); a process that
    dies is started again (within `start_s`) before its slot's next job."""

    def __init__(self, slots: int = 1, start_s: float = 120.0) -> None:
        self._slots = [_Slot(multiprocessing.get_context("spawn")) for _ in range(slots)]
        self._closing = threading.Event()
        self.start_s = start_s

    @property
    def slots(self) -> int:
        return len(self._slots)

    def prepare(self, slot: int, timeout_s: float) -> bool:
        if self._closing.is_set():
            return False
        try:
            self._slots[slot].ensure(timeout_s)
        except WorkerLost as exc:
            logger.warning("analysis slot %d is not ready: %s", slot, exc)
            return False
        return True

    def run(self, slot: int, job: AnalysisJob, progress: ProgressFn) -> JobResult:
        if self._closing.is_set():
            raise WorkerLost("the executor is closing", infrastructure=True)
        worker = self._slots[slot]
        deadline = time.monotonic() + job.deadline_s if job.deadline_s > 0 else None
        try:
            worker.ensure(self.start_s)  # started by `prepare` already, unless it died since
            conn = worker.conn
            if conn is None:
                raise WorkerLost("the analysis process has no pipe", infrastructure=True)
            conn.send(job)
            while True:
                if conn.poll(POLL_S):
                    kind, value = conn.recv()
                    if kind == "progress":
                        progress(float(value), worker.where)
                    elif kind == "done":
                        result: JobResult = value
                        return result
                    else:
                        raise JobFailed(str(value))
                elif self._closing.is_set():
                    raise WorkerLost("the executor is closing", infrastructure=True)
                elif not worker.alive():
                    raise WorkerLost(f"worker process {worker.where} ended during the job")
                elif deadline is not None and time.monotonic() > deadline:
                    where = worker.where
                    worker.stop()
                    raise WorkerLost(f"the analysis did not finish within {job.deadline_s:.0f} s on {where}; stopped")
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
