"""Secrets never reach a log: the candidate's join token in a page link, the side camera's token in the phone's,
an LMS registration link and the LMS's registration token are cut out of access log lines."""

from __future__ import annotations

import logging
import re

JOIN_PATH = re.compile(r"(/join/|/side/|/lti/register/)[^/?#\s]+")
QUERY_TOKEN = re.compile(r"(registration_token=)[^&#\s]+")
MARKERS = ("/join/", "/side/", "/lti/register/")


def redact(text: str) -> str:
    """`text` with every join token (and registration link and token) replaced (the path shape stays, so logs
    still say what was asked)."""
    return QUERY_TOKEN.sub(r"\1[token]", JOIN_PATH.sub(r"\1[token]", text))


class RedactJoinTokens(logging.Filter):
    """A filter for uvicorn's access log (its record args hold the path) and anything else that logs a link."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and any(marker in record.msg for marker in MARKERS):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(a) if isinstance(a, str) and any(marker in a for marker in MARKERS) else a for a in record.args
            )
        return True


def install() -> None:
    """Add the filter to the access logger once (idempotent: several apps in one process share it)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactJoinTokens) for f in access.filters):
        access.addFilter(RedactJoinTokens())
