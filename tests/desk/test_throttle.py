"""The login throttle on both databases: waits that double after a few failures and end, a success that clears
the account's bucket, and an exact count when attempts come in parallel (times are given, never waited for)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from footprint.signins import (
    FREE_FAILURES_PER_ACCOUNT,
    MAX_DELAY,
    TooManyAttempts,
    begin_attempt,
    end_attempt,
    wait_after,
)
from footprint.store import make_engine, make_session_factory, migrate

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_waits_double_after_the_free_failures_and_are_bounded() -> None:
    assert [wait_after(n, 3) for n in range(3)] == [None, None, None]
    assert [wait_after(n, 3) for n in (3, 4, 5, 6)] == [timedelta(seconds=s) for s in (1, 2, 4, 8)]
    assert wait_after(40, 3) == MAX_DELAY


def test_failures_make_the_next_attempt_wait_and_a_success_clears_them(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    sessions = make_session_factory(engine)

    def fail(at: datetime, client: str = "10.0.0.1") -> None:
        with sessions.begin() as db:
            begin_attempt(db, "examiner@college.kz", client, now=at)

    try:
        now = T0
        for _ in range(FREE_FAILURES_PER_ACCOUNT):
            fail(now)
        with pytest.raises(TooManyAttempts) as first:
            fail(now + timedelta(milliseconds=500))
        assert first.value.retry_after_s == 1
        fail(now + timedelta(seconds=1))  # the wait is over: one more try, which fails
        with pytest.raises(TooManyAttempts) as second:
            fail(now + timedelta(seconds=2))
        assert second.value.retry_after_s == 1  # two seconds after the last failure: one is left
        fail(now + timedelta(seconds=3), client="10.9.9.9")  # the same account elsewhere is not slowed
        with sessions.begin() as db:  # the right password, once the wait is over: the bucket is cleared
            done = begin_attempt(db, "examiner@college.kz", "10.0.0.1", now=now + timedelta(seconds=3))
            end_attempt(db, done, ok=True, now=now + timedelta(seconds=3))
        for _ in range(FREE_FAILURES_PER_ACCOUNT):
            fail(now + timedelta(seconds=4))
        with pytest.raises(TooManyAttempts):
            fail(now + timedelta(seconds=4))
        fail(now + timedelta(minutes=16))  # failures older than the window are forgotten
    finally:
        engine.dispose()


def test_parallel_attempts_are_counted_exactly(db_url: str) -> None:
    """Twelve attempts at the same moment: exactly the free ones get their password checked."""
    engine = make_engine(db_url)
    migrate(engine)
    sessions = make_session_factory(engine)
    lock = threading.Lock() if engine.dialect.name == "sqlite" else None  # SQLite: the app's one-writer lock
    passed: list[int] = []
    refused: list[int] = []
    start = threading.Barrier(12)

    def attempt(number: int) -> None:
        start.wait()
        try:
            if lock is not None:
                lock.acquire()
            try:
                with sessions.begin() as db:
                    begin_attempt(db, "head@college.kz", "10.1.1.1", now=T0)
            finally:
                if lock is not None:
                    lock.release()
        except TooManyAttempts:
            refused.append(number)
        else:
            passed.append(number)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(12)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        engine.dispose()
    assert len(passed) == FREE_FAILURES_PER_ACCOUNT and len(refused) == 12 - FREE_FAILURES_PER_ACCOUNT
