"""Work that must run on one node at a time: on PostgreSQL the advisory lock lets one holder in and lets the
next in once the first is done — or gone (its connection closed, as when its node dies)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from web.once import lock_key, on_one_node


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
