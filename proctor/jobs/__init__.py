"""Where analysis jobs run: a local pool of worker processes (the default) or a Ray cluster.

Both keep the models warm in long-lived workers and run one job per worker at a time; the dispatcher
(`proctor.sessions.worker`) claims jobs from the database and hands them to an executor.
"""

from proctor.jobs.executor import Executor, JobFailed, LocalExecutor, ProgressFn, WorkerLost

__all__ = ["Executor", "JobFailed", "LocalExecutor", "ProgressFn", "WorkerLost"]
