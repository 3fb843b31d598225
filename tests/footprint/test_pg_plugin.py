"""The PostgreSQL plugin itself: a real server, a fresh database per test."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from footprint.store import make_engine


@pytest.mark.postgres
def test_postgres_database_is_fresh_and_real(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version()")).scalar_one().startswith("PostgreSQL")
            assert (
                connection.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar_one() == 0
            )
    finally:
        engine.dispose()
