"""Work that must run on one node at a time: on PostgreSQL the advisory lock lets one holder in and lets the
next in once the first is done — or gone (its connection closed, as when its node dies); the checkpoint
and retention rounds of a node skip while another node holds their lock, and do their work after."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from footprint.accounts import create_college
from footprint.ledger.tables import CheckpointRow
from proctor.sessions.notify import WebhookNotifier
from proctor.sessions.tables import ChunkRow, SessionRow
from proctor.sessions.worker import AnalysisWorker
from tests.fixtures.scenarios import Scenario
from tests.sessions.test_service import upload_of
from web.checkpoints import checkpoint_if_grown
from web.deps import Services
from web.once import lock_key, on_one_node
from web.platform import SessionPlatform, build_session_service, retention_round
from web.services import build_services
from web.settings import load_settings


def taken_within(engine: Engine, name: str, timeout_s: float) -> bool:
    """Whether `engine`'s node gets the lock within `timeout_s` (the server ends a session asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with on_one_node(engine, name) as mine:
            if mine:
                return True
        time.sleep(0.1)
    return False


@pytest.mark.postgres
def test_one_node_at_a_time_and_the_next_after_it(postgres_url: str) -> None:
    first, second = (create_engine(postgres_url, poolclass=NullPool) for _ in range(2))  # two nodes
    try:
        with on_one_node(first, "checkpoint") as mine:
            assert mine
            with on_one_node(second, "checkpoint") as theirs, on_one_node(second, "retention") as other_work:
                assert not theirs and other_work  # the same work waits; other work does not
        with on_one_node(second, "checkpoint") as theirs:
            assert theirs
        with pytest.raises(OperationalError), on_one_node(first, "retention") as mine:  # its unlock fails: gone
            assert mine
            with second.connect() as admin:  # the holder's node dies: PostgreSQL ends its session
                admin.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks"
                        " WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
                        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    )
                )
                admin.commit()
            assert taken_within(second, "retention", 30.0)
    finally:
        first.dispose()
        second.dispose()


def test_sqlite_has_one_node_and_keys_are_stable(tmp_path: object) -> None:
    engine = create_engine("sqlite://", poolclass=NullPool)
    with on_one_node(engine, "checkpoint") as mine, on_one_node(engine, "checkpoint") as again:
        assert mine and again
    assert lock_key("checkpoint") == lock_key("checkpoint") != lock_key("retention")
    assert -(2**63) <= lock_key("checkpoint") < 2**63


@contextlib.contextmanager
def held_by_another_node(url: str, name: str) -> Iterator[None]:
    """Another node holds the lock `name` (its own connection) for the block."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": lock_key(name)})
            connection.commit()
            yield
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(name)})
            connection.commit()
    finally:
        engine.dispose()


@pytest.fixture
def node(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Services, SessionPlatform]]:
    """The services and session platform of one node on PostgreSQL (its workers not started)."""
    data = tmp_path / "data"
    settings = load_settings({}, data_dir=data, database_url=postgres_url, node_id="node-1", retention_days=30)
    services = build_services(settings)
    service = build_session_service(services)
    notifier = WebhookNotifier(services.sessions)
    platform = SessionPlatform(service, AnalysisWorker(service), notifier, services.engine, tmp_path / "incoming")
    yield services, platform
    notifier.close()
    services.engine.dispose()


def checkpoints(services: Services) -> list[tuple[int, str | None]]:
    with services.sessions() as db:
        return [(r.tree_size, r.signed_by) for r in db.scalars(select(CheckpointRow).order_by(CheckpointRow.tree_size))]


@pytest.mark.postgres
def test_a_checkpoint_round_skips_while_another_node_signs(
    node: tuple[Services, SessionPlatform], postgres_url: str
) -> None:
    services, _ = node
    with services.writing() as db:  # the ledger grows
        services.ledger.append(db, "test_record", "r-1", {"what": "an entry to sign"})
    before = checkpoints(services)
    with held_by_another_node(postgres_url, "checkpoint"):
        assert checkpoint_if_grown(services) is None  # the ledger grew, but another node is signing
        assert checkpoints(services) == before
    signed = checkpoint_if_grown(services)
    with services.sessions() as db:
        size = services.ledger.size(db)
    assert signed is not None and signed.checkpoint.tree_size == size
    assert checkpoints(services)[-1] == (size, "node-1")  # signed, and by whom


@pytest.mark.postgres
def test_a_retention_round_skips_while_another_node_runs_it(
    node: tuple[Services, SessionPlatform], postgres_url: str, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    services, platform = node
    service = platform.service
    with services.writing() as db:
        college = create_college(db, "Astana Polytechnic College")
    exam = service.create_exam(college, "Exam", "interim", None)
    candidate = service.add_candidate(college, exam.id, "S-1", "Arman", demo.reference.read_bytes())
    row, _ = service.create_session(college, exam.id, candidate.id)
    service.recordings.accept(college, row.id, upload_of(media / "single_face.mp4", tmp_path / "in"))
    with services.writing() as db:  # the session is past the retention period
        db.execute(
            update(SessionRow).where(SessionRow.id == row.id).values(created_at=datetime.now(UTC) - timedelta(days=40))
        )

    def kept() -> int:
        with services.sessions() as db:
            query = select(func.count()).select_from(ChunkRow).where(ChunkRow.purged_at.is_(None))
            return int(db.scalar(query.where(ChunkRow.session_id == row.id)) or 0)

    assert kept() > 0
    with held_by_another_node(postgres_url, "retention"):
        retention_round(platform)
        assert kept() > 0  # skipped: another node is at it
    retention_round(platform)
    assert kept() == 0
    with services.sessions() as db:
        assert db.scalar(select(SessionRow.media_purged_at).where(SessionRow.id == row.id)) is not None

    statements: list[str] = []

    def heard(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(services.engine, "before_cursor_execute", heard)
    try:
        retention_round(platform)  # the next hour's round
    finally:
        event.remove(services.engine, "before_cursor_execute", heard)
    touched = [s for s in statements if "recording_chunks" in s or s.lstrip().upper().startswith("UPDATE")]
    assert statements and touched == []  # a session purged for good is passed by: no reads of it, no writes
