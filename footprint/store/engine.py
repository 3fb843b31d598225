"""Engines and sessions for the platform database: SQLite (default, single writer) or PostgreSQL.

SQLite gets WAL (readers never block the writer), foreign keys and a busy timeout so that concurrent
writers queue instead of failing; PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 30.0
CACHE_KIB = 32 * 1024
MMAP_BYTES = 256 * 2**20


class StoreError(ValueError):
    """A database URL that the platform cannot use."""


def normalise_url(url: str | URL) -> URL:
    """Parse a database URL and pin PostgreSQL to the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError, but anything unparsable is bad input
        raise StoreError(f"not a database URL: {url!s}") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend not in ("sqlite", "postgresql"):
        raise StoreError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")
    return parsed


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses at most the last commits
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")  # pages of the ledger's node index stay in memory
        cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")  # reads without a syscall per page
    finally:
        cursor.close()


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for `sqlite:///path` or `postgresql+psycopg://…` with the platform's settings.

    Extra keyword arguments go to `sqlalchemy.create_engine`.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        options: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_S}}
        if parsed.database in (None, "", ":memory:"):
            options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        options.update(kwargs)
        engine = create_engine(parsed, **options)
        event.listen(engine, "connect", _on_sqlite_connect)
    else:
        engine = create_engine(parsed, **{"pool_pre_ping": True, **kwargs})
    logger.debug("engine for %s", parsed.render_as_string(hide_password=True))
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (handy for returning what was just stored)."""
    return sessionmaker(engine, expire_on_commit=False)
