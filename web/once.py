"""Work that must happen on one node at a time (checkpoint signing, the retention job), whichever nodes run.

On PostgreSQL a node takes a session-level advisory lock on a connection of its own for the length of
the work: another node that tries meanwhile skips its round, and a node that dies mid-task loses the
lock with its connection, so the next round (on any node) takes over. On SQLite there is one node by
construction (the database is a local file), so the work simply runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator

from sqlalchemy import Engine, text

logger = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for the advisory lock named `name`."""
    return int.from_bytes(hashlib.sha256(f"proctor:{name}".encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def on_one_node(engine: Engine, name: str) -> Iterator[bool]:
    """Yields True when this node holds the lock `name` for the block (False: another node is at it now)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = lock_key(name)
    with engine.connect() as connection:
        held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        connection.commit()  # no transaction stays open while the work runs
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
