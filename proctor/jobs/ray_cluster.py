"""Analysis jobs on a Ray cluster: long-lived actors that load the models once and analyse many sessions.

Each dispatcher slot of a platform node drives one `AnalysisActor`. The actor declares its resources (CPU,
and GPU where the cluster's nodes have one) and Ray places it on any node that has them. When the
actor's process dies (killed, out of memory, its machine gone) Ray starts it again, on that node or
another, and runs the interrupted job again there (`max_task_retries`); only when that too fails is the
job reported lost and given back to the queue. The media are read through the storage the job names,
so every Ray node mounts the platform's media store at the same path.

Ray is imported only here, and only when `PROCTOR_RAY_ADDRESS` is set: the embedded platform never
needs it at run time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from proctor.jobs.executor import JobFailed, ProgressFn, WorkerLost
from proctor.sessions.job import AnalysisJob, JobResult, WarmModels, run_job

logger = logging.getLogger(__name__)

NAMESPACE = "proctor"
TASK_RETRIES = 2
"""Times Ray runs a job again on a restarted actor after the actor's process died under it."""
POLL_S = 1.0
HEALTH_CACHE_S = 5.0


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

        os.environ.setdefault("GLOG_minloglevel", "2")
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


class RayExecutor:
    """`options.actors` analysis actors on the Ray cluster at `options.address` (one per dispatcher slot)."""

    def __init__(self, options: RayOptions) -> None:
        import ray

        self.options = options
        self._owns_connection = not ray.is_initialized()
        if self._owns_connection:
            ray.init(
                address=options.address,
                namespace=NAMESPACE,
                log_to_driver=False,
                logging_level=logging.WARNING,
                configure_logging=False,
            )
        self._ray = ray
        self._remote = ray.remote(AnalysisActor).options(
            num_cpus=options.cpus,
            num_gpus=options.gpus,
            max_restarts=-1,
            max_task_retries=TASK_RETRIES,
            max_concurrency=2,
            scheduling_strategy="SPREAD",
        )
        self._actors: list[Any] = [None] * options.actors
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._health = (0.0, False)
        logger.info("analysis jobs run on the Ray cluster at %s (%s)", options.address, self.describe())

    @property
    def slots(self) -> int:
        return len(self._actors)

    def _actor(self, slot: int) -> Any:
        with self._lock:
            if self._actors[slot] is None:
                self._actors[slot] = self._remote.remote()
            return self._actors[slot]

    def run(self, slot: int, job: AnalysisJob, progress: ProgressFn) -> JobResult:
        if self._closing.is_set():
            raise WorkerLost("the executor is closing")
        try:
            return self._run(slot, job, progress)
        except (WorkerLost, JobFailed):
            raise
        except Exception as exc:  # the connection to the cluster went away under the job (or is being closed)
            raise WorkerLost(f"the Ray cluster stopped answering: {type(exc).__name__}: {exc}") from exc

    def _run(self, slot: int, job: AnalysisJob, progress: ProgressFn) -> JobResult:
        from ray import exceptions

        actor = self._actor(slot)
        reply = actor.analyse.remote(job)
        asked: Any = None
        while True:
            done, _ = self._ray.wait([reply], timeout=POLL_S)
            if done:
                try:
                    result: JobResult = self._ray.get(reply)
                except exceptions.RayTaskError as exc:  # the analysis raised: the job's own failure
                    raise JobFailed(str(exc.cause) if exc.cause is not None else str(exc)) from exc
                except exceptions.RayError as exc:  # the actor is gone for good, or the cluster went away
                    with self._lock:
                        self._actors[slot] = None
                    raise WorkerLost(f"the Ray actor running the job was lost: {type(exc).__name__}") from exc
                return result
            if self._closing.is_set():
                raise WorkerLost("the executor is closing")
            asked = self._read_progress(actor, asked, progress)

    def _read_progress(self, actor: Any, asked: Any, progress: ProgressFn) -> Any:
        """Ask the actor how far it is (one question at a time); returns the question still open."""
        if asked is None:
            return actor.progress.remote()
        ready, _ = self._ray.wait([asked], timeout=0)
        if not ready:
            return asked
        try:
            where, share = self._ray.get(asked)
        except self._ray.exceptions.RayError:
            return None  # the actor is restarting: the job's reply tells what happened
        progress(float(share), str(where))
        return None

    def healthy(self) -> bool:
        """The cluster answers and has CPUs (checked at most every few seconds)."""
        checked_at, ok = self._health
        if time.monotonic() - checked_at < HEALTH_CACHE_S:
            return ok
        try:
            ok = not self._closing.is_set() and self._ray.cluster_resources().get("CPU", 0) > 0  # type: ignore[no-untyped-call]
        except Exception:  # any failure to reach the cluster means not ready
            ok = False
        self._health = (time.monotonic(), ok)
        return ok

    def describe(self) -> str:
        gpus = f", {self.options.gpus:g} GPU" if self.options.gpus else ""
        return f"{len(self._actors)} Ray actor(s) of {self.options.cpus:g} CPU{gpus} each"

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            actors, self._actors = self._actors, [None] * len(self._actors)
        for actor in actors:
            if actor is not None:
                try:
                    self._ray.kill(actor)
                except Exception:  # already gone
                    logger.debug("a Ray actor was gone before it was stopped")
        if self._owns_connection:
            self._ray.shutdown()
