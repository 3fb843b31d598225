"""The exam-session platform inside the web app: session service, analysis worker and webhooks.

Built in the app's lifespan next to the LRS services and reached through `PlatformDep`; the analysis
runs in worker processes — local ones, or Ray actors when `PROCTOR_RAY_ADDRESS` is set — so requests
only move bytes and rows. Several nodes may run on one PostgreSQL: the job queue is the database, and
the retention job runs on one node at a time (web/once.py).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from footprint.accounts import proctoring_authority
from footprint.xapi.statements import store_statements
from proctor.jobs import Executor, LocalExecutor
from proctor.outbound import OutboundPolicy
from proctor.recording.encrypted import EncryptedStorage
from proctor.recording.storage import LocalStorage, Storage
from proctor.sessions.analyses import Deadline
from proctor.sessions.errors import InvalidInputError, NotFoundError, SealedError, StateError, TooLargeError
from proctor.sessions.notify import WebhookNotifier
from proctor.sessions.sealed_fields import use_field_keys
from proctor.sessions.service import ServiceConfig, SessionService
from proctor.sessions.store import RecordingLimits
from proctor.sessions.tables import SessionRow
from proctor.sessions.worker import AnalysisWorker
from web.deps import Services
from web.desk.auth import DeskDenied
from web.desk.errors import desk_refusal, is_desk_page
from web.errors import error_response
from web.once import on_one_node
from web.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionPlatform:
    """The running session platform of one app."""

    service: SessionService
    worker: AnalysisWorker
    notifier: WebhookNotifier
    engine: Engine
    staging: Path
    """This node's own folder for uploads being received (never the shared media store)."""

    def close(self) -> None:
        self.worker.stop()
        self.notifier.close()


def media_storage(settings: Settings) -> Storage:
    """The media folder, encrypted at rest unless `PROCTOR_ENCRYPT_MEDIA` is off (the master key made on first use);
    the face embeddings in the database are sealed under a data key wrapped by the same master key."""
    local = LocalStorage(settings.media_path)
    if not settings.encrypt_media:
        return local
    storage = EncryptedStorage.over(local, settings.master_key_path, create=True)
    use_field_keys(storage.data_keys)  # the face embeddings in the database too
    return storage


def build_session_service(services: Services) -> SessionService:
    """The session service over the app's database, ledger, media folder and settings."""
    settings = services.settings
    authority = proctoring_authority(settings.base_url)

    def record_statement(db: Session, college_id: str, statement: dict[str, Any]) -> None:
        store_statements(db, services.ledger, [statement], college_id=college_id, authority=authority, version="1.0.3")

    return SessionService(
        services.sessions,
        media_storage(settings),
        services.ledger,
        ServiceConfig(
            base_url=settings.base_url,
            chunk_s=settings.chunk_seconds,
            retention_days=settings.retention_days,
            scratch_dir=settings.data_dir / "scratch",
            recording=RecordingLimits(
                part_bytes=settings.recording_part_bytes,
                session_bytes=settings.recording_session_bytes,
                runs=settings.recording_runs,
                grace_s=settings.recording_grace_s,
            ),
            gate_key_file=settings.gate_key_file,
        ),
        statement_sink=record_statement,
        writer=services.writing,
    )


def build_executor(settings: Settings) -> Executor:
    """Ray actors when `PROCTOR_RAY_ADDRESS` is set, else `PROCTOR_ANALYSIS_WORKERS` local processes. Neither
    waits for anything: a Ray cluster that is away is connected to (by a driver process of its own) once
    it answers."""
    if settings.ray_address is None:
        return LocalExecutor(settings.analysis_workers, start_s=settings.worker_start_s)
    from proctor.jobs.ray_cluster import RayExecutor, RayOptions  # Ray is imported only when it is used

    options = RayOptions(
        settings.ray_address, settings.analysis_workers, settings.ray_cpus_per_job, settings.ray_gpus_per_job
    )
    return RayExecutor(options)


def start_platform(services: Services) -> SessionPlatform:
    """Create the session service and start its analysis worker and webhook notifier."""
    settings = services.settings
    service = build_session_service(services)
    if not service.gates.cipher.exists() and (kept := service.gates.kept()):
        logger.error(
            "%d exam(s) keep an LMS quiz password but its key %s is missing: candidates cannot be shown it; restore "
            "the file from a backup, or set each exam's quiz password again",
            kept,
            settings.gate_key_file,
        )
    notifier = WebhookNotifier(
        services.sessions, writer=services.writing, outbound=OutboundPolicy(settings.outbound_networks)
    )

    def analysed(row: SessionRow) -> None:
        notifier.notify(row.id, "session.analysed")

    worker = AnalysisWorker(
        service,
        on_analysed=analysed,
        executor=build_executor(settings),
        node=settings.node,
        lease_s=settings.job_lease_s,
        deadline=Deadline(settings.job_deadline_factor, settings.job_deadline_margin_s),
        retry_s=settings.job_retry_s,
        start_s=settings.worker_start_s,
    )
    worker.start()
    staging = settings.data_dir / "incoming"
    staging.mkdir(parents=True, exist_ok=True, mode=0o700)  # uploads being received: the candidate's media
    return SessionPlatform(service, worker, notifier, services.engine, staging)


RETENTION_INTERVAL_S = 3600.0


def retention_round(platform: SessionPlatform) -> None:
    """One run of the retention job: purge media past the retention period; a failure is logged, not raised.
    One node at a time runs it; another node's round meanwhile is skipped."""
    try:
        with on_one_node(platform.engine, "retention") as mine:
            if not mine:
                logger.info("retention round skipped: another node is running it")
                return
            report = platform.service.purge_expired()
    except Exception:  # a failed round must not stop the next one
        logger.exception("retention round failed")
        return
    if report.sessions:
        logger.info(
            "retention purged %d chunks and %d evidence images of %d sessions",
            report.chunks,
            report.evidence,
            report.sessions,
        )


SEAL_INTERVAL_S = 30.0


def seal_round(platform: SessionPlatform) -> None:
    """Seal the recordings whose grace time has passed (one node at a time); a failure is logged, not raised."""
    try:
        with on_one_node(platform.engine, "seal") as mine:
            if mine:
                sealed = platform.service.seals.seal_overdue()
                if sealed:
                    logger.info("sealed the recordings of %d sessions past their grace time", len(sealed))
    except Exception:  # a failed round must not stop the next one
        logger.exception("seal round failed")


async def seal_loop(platform: SessionPlatform, interval_s: float = SEAL_INTERVAL_S) -> None:
    """Sealing after start: every `interval_s`, one round in a worker thread."""
    while True:
        await asyncio.sleep(interval_s)
        await run_in_threadpool(seal_round, platform)


async def retention_loop(platform: SessionPlatform, interval_s: float = RETENTION_INTERVAL_S) -> None:
    """The retention job after start: every `interval_s`, one round in a worker thread."""
    while True:
        await asyncio.sleep(interval_s)
        await run_in_threadpool(retention_round, platform)


def get_platform(request: Request) -> SessionPlatform:
    return cast(SessionPlatform, request.state.platform)


PlatformDep = Annotated[SessionPlatform, Depends(get_platform)]


async def _session_error(request: Request, exc: Exception) -> Response:
    if is_desk_page(request):  # a reviewer's browser: a page in their language, not JSON
        status = 404 if isinstance(exc, NotFoundError) else 409 if isinstance(exc, StateError) else 422
        return desk_refusal(request, DeskDenied(status, str(exc)))
    if isinstance(exc, NotFoundError):
        return error_response(404, "not_found", str(exc))
    if isinstance(exc, StateError):
        return error_response(409, "conflict", str(exc))
    if isinstance(exc, SealedError):
        return error_response(410, "gone", str(exc))
    if isinstance(exc, TooLargeError):
        return error_response(413, "too_large", str(exc))
    return error_response(422, "unprocessable", str(exc))


def install_session_error_handlers(app: FastAPI) -> None:
    """404 for another college's or unknown ids, 409 for lifecycle conflicts, 410 for what is sealed, 413 past a
    limit, 422 for unusable input."""
    for error in (NotFoundError, StateError, InvalidInputError, SealedError, TooLargeError):
        app.add_exception_handler(error, _session_error)
