"""Secrets never reach a log: the candidate's join token in a page link is cut out of access log lines."""

from __future__ import annotations

import logging
import re

JOIN_PATH = re.compile(r"/join/[^/?#\s]+")
REDACTED = "/join/[token]"


def redact(text: str) -> str:
    """`text` with every join token replaced (the path shape stays, so logs still say what was asked)."""
    return JOIN_PATH.sub(REDACTED, text)


class RedactJoinTokens(logging.Filter):
    """A filter for uvicorn's access log (its record args hold the path) and anything else that logs a link."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "/join/" in record.msg:
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) and "/join/" in a else a for a in record.args)
        return True


def install() -> None:
    """Add the filter to the access logger once (idempotent: several apps in one process share it)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactJoinTokens) for f in access.filters):
        access.addFilter(RedactJoinTokens())
