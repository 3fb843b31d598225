"""The analysis worker keeps going when the database goes away, and records what it could not record before."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from footprint.accounts import create_college
from footprint.ledger import Ledger
from footprint.store import make_engine, make_session_factory, migrate
from proctor.recording.storage import LocalStorage
from proctor.sessions.service import ServiceConfig, SessionService
from proctor.sessions.tables import SessionRow
from proctor.sessions.worker import AnalysisWorker
from tests.fixtures.scenarios import Scenario
from tests.pg import PostgresServer
from tests.sessions.test_service import upload_of


def _admin(server: PostgresServer, statement: str) -> None:
    engine = create_engine(server.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_dispatcher_survives_a_database_outage(
    postgres_server: PostgresServer, postgres_url: str, demo: Scenario, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    migrate(postgres_url)
    engine = make_engine(postgres_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as db:
        college = create_college(db, "Astana Polytechnic College")
    service = SessionService(
        sessions, LocalStorage(tmp_path / "media"), Ledger("test.proctor.kz/log"), ServiceConfig("http://127.0.0.1")
    )
    exam = service.create_exam(college, "Interim: Physics", "interim", None)
    candidate = service.add_candidate(college, exam.id, "S-1", "Arman", demo.reference.read_bytes())
    row, _ = service.create_session(college, exam.id, candidate.id)
    service.recordings.accept(college, row.id, upload_of(demo.video, tmp_path / "in"))
    name = make_url(postgres_url).database
    worker = AnalysisWorker(service)
    caplog.set_level(logging.WARNING, logger="proctor.sessions.worker")
    try:
        _admin(postgres_server, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        _admin(postgres_server, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        worker.start(resume=False)  # the database is down: the queue cannot be read
        worker.submit(row.id)
        # a safety net only: the slot's process starts and loads its models (within START_S, 120 s) before it claims
        deadline = time.monotonic() + 240
        while "could not claim a job" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "could not claim a job" in caplog.text
        _admin(postgres_server, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert worker.wait_idle(timeout=240)  # the dispatcher lived on and retried the job
        with sessions() as db:
            done = db.get(SessionRow, row.id)
            assert done is not None and (done.job_state, done.status) == ("done", "analysed")
    finally:
        _admin(postgres_server, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        worker.stop()
        engine.dispose()
