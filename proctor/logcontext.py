"""The session a log line is about, carried in a context variable so every module's lines name it without
passing it around; the server's log format shows it (see web/logs.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

SESSION: ContextVar[str] = ContextVar("proctor_session", default="-")


@contextlib.contextmanager
def about_session(session_id: str) -> Iterator[None]:
    """Log lines written in this block (and in tasks and threads started from it) name `session_id`."""
    token = SESSION.set(session_id)
    try:
        yield
    finally:
        SESSION.reset(token)
