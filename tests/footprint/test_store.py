"""The platform store: engine settings, URL handling, migrations, and the ledger's public surface."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

import footprint.ledger
import footprint.store
from footprint.store import make_engine, migrate
from footprint.store.engine import StoreError, normalise_url


def test_sqlite_engine_is_wal_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() >= 10_000
    engine.dispose()


def test_urls_are_pinned_to_psycopg_and_others_refused() -> None:
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    for bad in ("mysql://u@h/db", "not a url"):
        with pytest.raises(StoreError):
            normalise_url(bad)


def test_migrate_from_a_url_creates_the_ledger_tables(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            head = connection.execute(text("SELECT size, frontier FROM ledger_head WHERE id = 1")).one()
    finally:
        engine.dispose()
    assert {"ledger_entries", "ledger_nodes", "ledger_head", "ledger_checkpoints", "alembic_version"} <= tables
    assert head.size == 0 and bytes(head.frontier) == b""


@pytest.mark.parametrize("module", [footprint.ledger, footprint.store])
def test_public_names_are_exported(module: object) -> None:
    exported = set(module.__all__)
    public = {name for name in vars(module) if not name.startswith("_")}
    submodules = {name for name, value in vars(module).items() if type(value).__name__ == "module"}
    assert public - submodules == exported
