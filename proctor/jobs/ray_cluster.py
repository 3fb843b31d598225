"""Analysis jobs on a Ray cluster, driven from a process of its own so that the platform node outlives Ray.

A Ray driver ends its process when it loses the cluster for long, and `ray.init` blocks while the head
is away; neither may happen to a platform node, which must start, serve and stay ready without Ray
(uploads are queued in the database and run once Ray is back). So the node never imports Ray: it starts
`proctor/jobs/ray_driver.py` in a child process, talks to it over a pipe, and starts another one whenever
it ends (backing off while it keeps ending) or falls silent. The driver reports the cluster's health
every few seconds; `healthy()` reads the latest report and never waits. A job whose driver ends under it
is reported lost through no fault of its own (its start is not counted); so is a job asked of a driver
that is not connected. Each dispatcher slot drives one `AnalysisActor` (see `ray_driver.py`).

The media are read through the storage the job names, so every Ray node mounts the platform's media
store at the same path.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from proctor.jobs.executor import JobFailed, ProgressFn, WorkerLost
from proctor.jobs.ray_driver import HEALTH_EVERY_S, RayOptions, main
from proctor.sessions.job import AnalysisJob, JobResult

logger = logging.getLogger(__name__)
driver_logger = logging.getLogger("proctor.jobs.ray_driver")

__all__ = ["RayExecutor", "RayOptions"]

HEALTH_FRESH_S = 5 * HEALTH_EVERY_S
"""A health report older than this counts as none (the driver is blocked on a cluster that went away)."""
SILENT_RESTART_S = 90.0
"""A driver that said nothing for this long is stopped and started afresh."""
RESTART_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
STEADY_S = 60.0
"""A driver that lived this long was fine: the next one after it starts at once."""
REPLY_GRACE_S = 30.0
"""How long past a job's deadline (or a warm-up's timeout) the driver's answer is awaited before it is
taken for stuck and started afresh."""
POLL_S = 0.5
CLOSE_S = 15.0


class _Link:
    """One driver process, the pipe to it, and what it last said."""

    def __init__(self, generation: int, process: Any, conn: Connection) -> None:
        self.generation = generation
        self.process = process
        self.conn = conn
        self.started = time.monotonic()
        self.heard = self.started
        self.health: tuple[float, bool, str] = (0.0, False, "starting")
        self.ended = threading.Event()
        self.send_lock = threading.Lock()

    def alive(self) -> bool:
        return not self.ended.is_set() and bool(self.process.is_alive())

    def send(self, message: tuple[Any, ...]) -> None:
        with self.send_lock:
            self.conn.send(message)

    def stop(self, grace_s: float) -> None:
        """End the process: asked to close, then terminated, then killed."""
        if self.process.is_alive():
            try:
                self.send(("close",))
            except OSError:
                pass
            self.process.join(timeout=grace_s)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)


class RayExecutor:
    """`options.actors` analysis actors on the Ray cluster at `options.address`, one per dispatcher slot,
    driven from a child process that is started again whenever it ends."""

    def __init__(self, options: RayOptions) -> None:
        self.options = options
        self._context = multiprocessing.get_context("spawn")
        self._link: _Link | None = None
        self._generations = itertools.count(1)
        self._requests = itertools.count(1)
        self._replies: list[queue.Queue[tuple[int, tuple[Any, ...]]]] = [queue.Queue() for _ in range(options.actors)]
        self._closing = threading.Event()
        self._was_healthy = False
        self._supervisor = threading.Thread(target=self._supervise, name="ray-driver", daemon=True)
        self._supervisor.start()
        logger.info("analysis jobs run on the Ray cluster at %s (%s)", options.address, self.describe())

    @property
    def slots(self) -> int:
        return len(self._replies)

    # -- the driver process -----------------------------------------------------------------------

    def _supervise(self) -> None:
        """Keep one driver process running: start it, and start another when it ends or falls silent."""
        failures = 0
        while not self._closing.is_set():
            link = self._link
            if link is None or not link.alive():
                if link is not None:
                    link.stop(grace_s=0)
                    failures = 0 if time.monotonic() - link.started > STEADY_S else failures + 1
                    delay = RESTART_BACKOFF_S[min(failures, len(RESTART_BACKOFF_S) - 1)] if failures else 0.0
                    logger.warning(
                        "the Ray driver process ended (exit code %s); starting another in %.0f s",
                        link.process.exitcode,
                        delay,
                    )
                    if self._closing.wait(delay):
                        return
                try:
                    self._link = self._start()
                except OSError:
                    logger.exception("could not start the Ray driver process")
                    failures += 1
            elif time.monotonic() - link.heard > SILENT_RESTART_S:
                logger.warning("the Ray driver process said nothing for %.0f s; starting it afresh", SILENT_RESTART_S)
                link.stop(grace_s=0)
            self._note_health()
            self._closing.wait(POLL_S)

    def _start(self) -> _Link:
        conn, child = self._context.Pipe()
        process = self._context.Process(
            target=main, args=(child, self.options, os.getpid()), name="proctor-ray-driver", daemon=True
        )
        process.start()
        child.close()
        link = _Link(next(self._generations), process, conn)
        threading.Thread(target=self._read, args=(link,), name="ray-driver-pipe", daemon=True).start()
        return link

    def _read(self, link: _Link) -> None:
        """Everything the driver says: health and log lines here, answers to the slot that asked."""
        while True:
            try:
                message: tuple[Any, ...] = link.conn.recv()
            except (EOFError, OSError):
                break
            link.heard = time.monotonic()
            kind = message[0]
            if kind == "health":
                link.health = (time.monotonic(), bool(message[1]), str(message[2]))
                self._note_health()
            elif kind == "log":
                driver_logger.log(int(message[1]), "%s", message[2])
            else:
                self._replies[int(message[1])].put((link.generation, message))
        link.ended.set()
        for replies in self._replies:  # whoever waits on this driver hears that it is gone
            replies.put((link.generation, ("ended",)))
        self._note_health()

    def _note_health(self) -> None:
        """Log when the cluster becomes reachable or unreachable (once per change)."""
        healthy = self.healthy()
        if healthy != self._was_healthy and not self._closing.is_set():
            self._was_healthy = healthy
            link = self._link
            detail = link.health[2] if link is not None else "no driver"
            if healthy:
                logger.info("the Ray cluster at %s is available (%s)", self.options.address, detail)
            else:
                logger.warning("the Ray cluster at %s is unavailable: %s", self.options.address, detail)

    # -- the executor -----------------------------------------------------------------------------

    def healthy(self) -> bool:
        """The driver is connected and its latest report (a recent one) says the cluster has CPUs."""
        link = self._link
        if self._closing.is_set() or link is None or not link.alive():
            return False
        reported_at, ok, _ = link.health
        return ok and time.monotonic() - reported_at < HEALTH_FRESH_S

    def prepare(self, slot: int, timeout_s: float) -> bool:
        if not self.healthy():
            return False
        try:
            link, request = self._ask(slot, "warm", timeout_s)
            for message in self._answers(slot, link, request, time.monotonic() + timeout_s + REPLY_GRACE_S):
                _, _, _, ok, detail = message
                if not ok:
                    logger.warning("analysis slot %d is not ready: %s", slot, detail)
                return bool(ok)
        except WorkerLost as exc:
            logger.warning("analysis slot %d is not ready: %s", slot, exc)
        except TimeoutError:
            logger.warning("the Ray driver did not answer a warm-up within %.0f s; starting it afresh", timeout_s)
            link.stop(grace_s=0)
        return False

    def run(self, slot: int, job: AnalysisJob, progress: ProgressFn) -> JobResult:
        if self._closing.is_set():
            raise WorkerLost("the executor is closing", infrastructure=True)
        if not self.healthy():
            raise WorkerLost(f"the Ray cluster at {self.options.address} is unavailable", infrastructure=True)
        link, request = self._ask(slot, "run", job)
        until = time.monotonic() + job.deadline_s + REPLY_GRACE_S if job.deadline_s > 0 else None
        try:
            for message in self._answers(slot, link, request, until):
                kind = message[0]
                if kind == "progress":
                    progress(float(message[3]), str(message[4]))
                elif kind == "done":
                    result: JobResult = message[3]
                    return result
                elif kind == "failed":
                    raise JobFailed(str(message[3]))
                elif kind == "lost":
                    raise WorkerLost(str(message[3]), infrastructure=bool(message[4]))
        except TimeoutError:
            link.stop(grace_s=0)
            raise WorkerLost(
                f"the Ray driver did not answer within the job's deadline ({job.deadline_s:.0f} s); started afresh"
            ) from None
        raise WorkerLost("the Ray driver stopped answering", infrastructure=True)  # pragma: no cover

    def _ask(self, slot: int, kind: str, payload: Any) -> tuple[_Link, int]:
        """Send a request for `slot` to the current driver; WorkerLost (the platform's trouble) if there is none."""
        link = self._link
        if link is None or not link.alive():
            raise WorkerLost("no Ray driver process is running", infrastructure=True)
        request = next(self._requests)
        try:
            link.send((kind, slot, request, payload))
        except (OSError, ValueError) as exc:
            raise WorkerLost(f"the Ray driver process went away: {exc}", infrastructure=True) from exc
        return link, request

    def _answers(self, slot: int, link: _Link, request: int, until: float | None) -> Iterator[tuple[Any, ...]]:
        """The driver's answers to `request`, until `until` (TimeoutError after it); WorkerLost when the driver
        ends or the executor closes."""
        replies = self._replies[slot]
        while True:
            if until is not None and time.monotonic() > until:
                raise TimeoutError
            try:
                generation, message = replies.get(timeout=POLL_S)
            except queue.Empty:
                if self._closing.is_set():
                    raise WorkerLost("the executor is closing", infrastructure=True) from None
                if link.ended.is_set():
                    raise WorkerLost("the Ray driver process ended", infrastructure=True) from None
                continue
            if generation != link.generation:
                continue  # from a driver that ended before
            if message[0] == "ended":
                raise WorkerLost("the Ray driver process ended", infrastructure=True)
            if message[2] == request:
                yield message

    def describe(self) -> str:
        gpus = f", {self.options.gpus:g} GPU" if self.options.gpus else ""
        return f"{self.slots} Ray actor(s) of {self.options.cpus:g} CPU{gpus} each"

    def close(self) -> None:
        self._closing.set()
        self._supervisor.join(timeout=CLOSE_S)
        link = self._link
        if link is not None:
            link.stop(grace_s=CLOSE_S)
