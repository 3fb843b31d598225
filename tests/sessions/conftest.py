"""A session service over a real database (SQLite file or PostgreSQL), local storage and the real ledger."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from footprint.accounts import create_college
from footprint.ledger import Ledger
from footprint.store import make_engine, make_session_factory, migrate
from proctor.recording.storage import LocalStorage
from proctor.sessions.service import ServiceConfig, SessionService


@dataclass
class Platform:
    service: SessionService
    college: str
    other_college: str
    statements: list[dict[str, Any]]


@pytest.fixture
def platform(db_url: str, tmp_path: Path) -> Iterator[Platform]:
    migrate(db_url)
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as db:
        college, other = create_college(db, "Astana Polytechnic College"), create_college(db, "Other College")
    statements: list[dict[str, Any]] = []

    def sink(db: Session, college_id: str, statement: dict[str, Any]) -> None:
        statements.append(statement)

    service = SessionService(
        sessions,
        LocalStorage(tmp_path / "storage"),
        Ledger("test.proctor.kz/ledger"),
        ServiceConfig(base_url="http://127.0.0.1:8000", chunk_s=10.0, retention_days=30),
        statement_sink=sink,
    )
    yield Platform(service, college, other, statements)
    engine.dispose()
