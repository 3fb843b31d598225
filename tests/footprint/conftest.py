"""Footprint test set-up: databases come from the `tests.pg` plugin (SQLite file and real PostgreSQL)."""

from __future__ import annotations

from tests.pg import db_url, postgres_server, postgres_url

__all__ = ["db_url", "postgres_server", "postgres_url"]
