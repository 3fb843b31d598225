"""The Ray driver of one platform node, in a process of its own: it connects to the cluster, drives one
analysis actor per dispatcher slot and answers the node over a pipe.

Why a process of its own: a Ray driver ends its process when it loses the cluster for long (the head's
GCS gone past `gcs_rpc_server_reconnect_timeout_s`, or its raylet gone), and `ray.init` blocks while
the head is away. Here that ends or blocks only this process; the platform node goes on serving and
starts a new driver (see `ray_cluster.py`). The driver connects only once the head's port answers, and
then reports the cluster's health every few seconds from a thread of its own, so the node reads a
recent answer and never waits on Ray.

Pipe protocol (node → driver): ("warm", slot, request, timeout_s), ("run", slot, request, job),
("close",). Driver → node: ("health", ok, detail), ("log", level, message), and for a request
("warmed", slot, request, ok, detail), ("progress", slot, request, share, where), ("done", slot, request,
result), ("failed", slot, request, message), ("lost", slot, request, message, infrastructure).

Actors: each asks for `cpus` CPUs (and `gpus` GPUs) for its whole life, so every platform node's
`PROCTOR_ANALYSIS_WORKERS` actors together must fit the cluster; an actor that cannot be placed within
the warm-up time is dropped (its slot claims nothing) and tried again later. Ray restarts an actor whose
process died (at most `MAX_RESTARTS` times in its life, then a fresh one is made) and runs the
interrupted job again on it (`TASK_RETRIES`). A job still running at its deadline has its actor killed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from proctor.jobs.executor import JobFailed, WorkerLost
from proctor.nativelog import quiet_native_noise
from proctor.orphans import exit_with_parent
from proctor.sessions.job import AnalysisJob, JobResult, WarmModels, run_job

NAMESPACE = "proctor"
TASK_RETRIES = 2
"""Times Ray runs a job again on a restarted actor after the actor's process died under it."""
MAX_RESTARTS = 3
"""Times Ray restarts one actor in its life; past that the actor is gone and its slot makes a new one."""
POLL_S = 1.0
HEALTH_EVERY_S = 2.0
CONNECT_BACKOFF_S = (1.0, 2.0, 5.0, 10.0)
GCS_RECONNECT_S = "30"
"""How long this driver waits for a lost head before Ray ends the process (Ray's default is 60 s)."""


@dataclass(frozen=True)
class RayOptions:
    """Where the cluster is and what each analysis actor asks of it."""

    address: str
    actors: int = 1
    cpus: float = 1.0
    gpus: float = 0.0


class AnalysisActor:
    """A Ray actor (one process on some node of the cluster): warm models, one job at a time, and its
    progress readable while it works (the actor is threaded: `progress` answers during `analyse`)."""

    def __init__(self) -> None:
        import ray

        quiet_native_noise()  # no native notices in the worker's log (PROCTOR_NATIVE_LOGS=1 keeps them)
        self.models = WarmModels()
        node = ray.get_runtime_context().get_node_id()
        self.where = f"ray:{node[:12]}:{os.getpid()}"
        self.share = 0.0

    def warm(self) -> str:
        """Load the models now (before the first job) and say where this actor runs."""
        self.models.encoder()
        return self.where

    def analyse(self, job: AnalysisJob) -> JobResult:
        self.share = 0.0

        def progress(_session: str, share: float) -> None:
            self.share = share

        return run_job(job, progress, every_s=POLL_S, models=self.models, worker=self.where)

    def progress(self) -> tuple[str, float]:
        return self.where, self.share


logger = logging.getLogger(__name__)


class _PipeLog(logging.Handler):
    """Sends this process's log records to the platform node, which logs them with its node and format."""

    def __init__(self, driver: Driver) -> None:
        super().__init__(logging.INFO)
        self.driver = driver

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.driver.send("log", record.levelno, record.getMessage())


class Driver:
    """The driver's state: the pipe to the node, the connection to the cluster, and one actor per slot."""

    def __init__(self, conn: Connection, options: RayOptions) -> None:
        self.conn = conn
        self.options = options
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._actors: list[Any] = [None] * options.actors
        self._warm = [False] * options.actors
        self._connected = threading.Event()
        self.ray: Any = None
        self._remote: Any = None

    def send(self, *message: Any) -> None:
        with self._send_lock:
            self.conn.send(message)

    # -- the cluster ------------------------------------------------------------------------------

    def connect(self) -> bool:
        """Wait until the head's port answers, then connect (retrying: the head may come and go); False when
        the node said close meanwhile."""
        import ray

        attempt = 0
        while True:
            reachable, why = _reachable(self.options.address)
            if reachable:
                try:
                    ray.init(
                        address=self.options.address,
                        namespace=NAMESPACE,
                        log_to_driver=False,
                        logging_level=logging.WARNING,
                        configure_logging=False,
                    )
                except Exception as exc:  # refused, or not a Ray head: report and try again
                    why = f"{type(exc).__name__}: {exc}"
                else:
                    break
            self.send("health", False, f"the Ray cluster at {self.options.address} is not reachable: {why}")
            if self._closed_within(CONNECT_BACKOFF_S[min(attempt, len(CONNECT_BACKOFF_S) - 1)]):
                return False
            attempt += 1
        self.ray = ray
        self._remote = ray.remote(AnalysisActor).options(
            num_cpus=self.options.cpus,
            num_gpus=self.options.gpus,
            max_restarts=MAX_RESTARTS,
            max_task_retries=TASK_RETRIES,
            max_concurrency=2,
            scheduling_strategy="SPREAD",
        )
        self._connected.set()
        logger.info("connected to the Ray cluster at %s", self.options.address)
        return True

    def _closed_within(self, seconds: float) -> bool:
        """Wait `seconds` for the node to say close (nothing else is asked before the driver is connected)."""
        try:
            return bool(self.conn.poll(seconds)) and self.conn.recv()[0] == "close"
        except (EOFError, OSError):
            return True

    def report_health(self) -> None:
        """Every few seconds, whether the cluster answers and has CPUs (a thread of its own: it may block)."""
        while True:
            if self._connected.is_set():
                try:
                    cpus = float(self.ray.cluster_resources().get("CPU", 0))
                except Exception as exc:  # the cluster stopped answering
                    self.send("health", False, f"the Ray cluster does not answer: {type(exc).__name__}")
                else:
                    self.send("health", cpus > 0, f"{cpus:g} CPU in the Ray cluster")
            time.sleep(HEALTH_EVERY_S)

    # -- the node's requests ----------------------------------------------------------------------

    def warm(self, slot: int, request: int, timeout_s: float) -> None:
        """Have the slot's actor placed and its models loaded within `timeout_s`, or drop it."""
        try:
            actor = self._actor(slot)
            if self._warm[slot]:
                self.send("warmed", slot, request, True, "")
                return
            reply = actor.warm.remote()
            done, _ = self.ray.wait([reply], timeout=timeout_s)
            if not done:
                self._drop(slot, actor)
                detail = (
                    f"its Ray actor ({self.options.cpus:g} CPU, {self.options.gpus:g} GPU) was not placed and warm "
                    f"within {timeout_s:.0f} s: the cluster has no room for it"
                )
                self.send("warmed", slot, request, False, detail)
                return
            where = self.ray.get(reply)
        except Exception as exc:  # the actor died while starting, or the cluster went away
            self._drop(slot, None)
            self.send("warmed", slot, request, False, f"its Ray actor did not start: {type(exc).__name__}: {exc}")
            return
        self._warm[slot] = True
        self.send("warmed", slot, request, True, str(where))

    def run(self, slot: int, request: int, job: AnalysisJob) -> None:
        try:
            result = self._analyse(slot, request, job)
        except JobFailed as exc:
            self.send("failed", slot, request, str(exc))
        except WorkerLost as exc:
            self.send("lost", slot, request, str(exc), exc.infrastructure)
        except Exception as exc:  # the connection to the cluster went away under the job
            self._drop(slot, None)
            self.send("lost", slot, request, f"the Ray cluster stopped answering: {type(exc).__name__}: {exc}", True)
        else:
            self.send("done", slot, request, result)

    def _analyse(self, slot: int, request: int, job: AnalysisJob) -> JobResult:
        from ray import exceptions

        actor = self._actor(slot)
        reply = actor.analyse.remote(job)
        deadline = time.monotonic() + job.deadline_s if job.deadline_s > 0 else None
        asked: Any = None
        while True:
            done, _ = self.ray.wait([reply], timeout=POLL_S)
            if done:
                try:
                    result: JobResult = self.ray.get(reply)
                except exceptions.RayTaskError as exc:  # the analysis raised: the job's own failure
                    raise JobFailed(str(exc.cause) if exc.cause is not None else str(exc)) from exc
                except exceptions.RayError as exc:  # the actor is gone for good (restarts used up, or killed)
                    self._drop(slot, None)
                    raise WorkerLost(f"the Ray actor running the job was lost: {type(exc).__name__}") from exc
                return result
            if deadline is not None and time.monotonic() > deadline:
                self._drop(slot, actor)
                raise WorkerLost(f"the analysis did not finish within {job.deadline_s:.0f} s; its Ray actor was killed")
            asked = self._read_progress(slot, request, actor, asked)

    def _read_progress(self, slot: int, request: int, actor: Any, asked: Any) -> Any:
        """Ask the actor how far it is (one question at a time); returns the question still open."""
        if asked is None:
            return actor.progress.remote()
        ready, _ = self.ray.wait([asked], timeout=0)
        if not ready:
            return asked
        try:
            where, share = self.ray.get(asked)
        except self.ray.exceptions.RayError:
            return None  # the actor is restarting: the job's reply tells what happened
        self.send("progress", slot, request, float(share), str(where))
        return None

    def _actor(self, slot: int) -> Any:
        with self._lock:
            if self._actors[slot] is None:
                self._actors[slot] = self._remote.remote()
                self._warm[slot] = False
            return self._actors[slot]

    def _drop(self, slot: int, actor: Any) -> None:
        """Forget the slot's actor (killed for good when given: it hangs, or holds room it cannot use)."""
        with self._lock:
            self._actors[slot] = None
            self._warm[slot] = False
        if actor is not None:
            with contextlib.suppress(Exception):
                self.ray.kill(actor, no_restart=True)

    def serve(self) -> None:
        """Answer the node's requests until it says close (or goes away)."""
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                return
            if message[0] == "close":
                return
            if message[0] == "warm":
                _, slot, request, timeout_s = message
                threading.Thread(target=self.warm, args=(slot, request, timeout_s), daemon=True).start()
            elif message[0] == "run":
                _, slot, request, job = message
                threading.Thread(target=self.run, args=(slot, request, job), daemon=True).start()

    def close(self) -> None:
        if self.ray is None or not self._connected.is_set():
            return
        with self._lock:
            actors, self._actors = self._actors, [None] * len(self._actors)
        for actor in actors:
            if actor is not None:
                with contextlib.suppress(Exception):
                    self.ray.kill(actor)
        with contextlib.suppress(Exception):
            self.ray.shutdown()


def _reachable(address: str) -> tuple[bool, str]:
    """Whether the head's port accepts a connection (`auto` and other forms are left to Ray)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return True, ""
    try:
        with socket.create_connection((host, int(port)), timeout=2.0):
            return True, ""
    except OSError as exc:
        return False, str(exc)


def main(conn: Connection, options: RayOptions, parent_pid: int) -> None:
    """The driver process: connect, then serve the node until it closes the pipe or dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the node, which closes this process in order
    os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", GCS_RECONNECT_S)
    exit_with_parent(parent_pid)
    driver = Driver(conn, options)
    root = logging.getLogger("proctor")
    root.addHandler(_PipeLog(driver))
    root.setLevel(logging.INFO)
    threading.Thread(target=driver.report_health, name="ray-health", daemon=True).start()
    try:
        if driver.connect():
            driver.serve()
    finally:
        driver.close()
