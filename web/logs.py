"""Structured logs: every line names the platform node and, where there is one, the exam session.

`text` is one readable line per record (`… node=node-1 session=… logger: message`); `json` is one JSON
object per line for a log collector (time, level, node, session, logger, message, and the traceback).
The session comes from `proctor.logcontext` (set by the analysis worker and the live endpoints).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from proctor.logcontext import SESSION

TEXT_FORMAT = "%(asctime)s %(levelname)s node=%(node)s session=%(session)s %(name)s: %(message)s"


class NodeAndSession(logging.Filter):
    """Adds `node` and `session` to every record that passes the handler."""

    def __init__(self, node: str) -> None:
        super().__init__()
        self.node = node

    def filter(self, record: logging.LogRecord) -> bool:
        record.node = self.node
        record.session = SESSION.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "node": getattr(record, "node", None),
            "session": getattr(record, "session", "-"),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class QuietHealthChecks(logging.Filter):
    """Drops the access lines of successful health checks (a load balancer asks every second)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        quiet = len(args) >= 5 and args[2] in ("/healthz", "/readyz", "/readyz/live") and args[4] == 200
        return not quiet


def configure(node: str, level: str, fmt: str) -> logging.Handler:
    """Send every log record (uvicorn's included) through one stderr handler in the chosen format."""
    handler = logging.StreamHandler()
    handler.addFilter(NodeAndSession(node))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QuietHealthChecks) for f in access.filters):
        access.addFilter(QuietHealthChecks())
    return handler
