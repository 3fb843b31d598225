"""Fixtures for the xAPI store tests: a migrated database (SQLite and PostgreSQL) and a ledger."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from footprint.accounts import create_college
from footprint.ledger import Ledger, generate_signer
from footprint.store import make_engine, make_session_factory, migrate

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://proctor.kz/credentials/c1", "name": "k1"}}


@dataclass(frozen=True)
class Colleges:
    """Two colleges of the same platform: every test of a stored resource checks the other sees nothing."""

    first: str
    second: str


def statement(actor: str = "ann", verb: str = "answered", activity: str = "q1", **extra: Any) -> dict[str, Any]:
    """A small valid statement."""
    return {
        "actor": {"objectType": "Agent", "mbox": f"mailto:{actor}@example.kz"},
        "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}", "display": {"en-US": verb}},
        "object": {"id": f"https://proctor.kz/activities/{activity}"},
        **extra,
    }


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a freshly migrated database."""
    engine = make_engine(db_url)
    migrate(engine)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def colleges(sessions: sessionmaker[Session]) -> Colleges:
    with sessions.begin() as session:
        return Colleges(create_college(session, "Astana College"), create_college(session, "Almaty College"))


@pytest.fixture
def ledger() -> Ledger:
    return Ledger("test.proctor.kz/log", generate_signer("test.proctor.kz/log"))
