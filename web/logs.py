"""Structured logs: every line names the platform node and, where there is one, the exam session.

`text` is one readable line per record (`… node=node-1 session=… logger: message`); `json` is one JSON
object per line for a log collector (time, level, node, session, logger, message, and the traceback).
The session comes from `proctor.logcontext` (set by the analysis worker and the live endpoints).
A record is one line whatever it quotes: control characters (a line break in an e-mail address someone
typed) are written as visible escapes, so no input can forge a log line; only a traceback keeps its breaks.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
from datetime import UTC, datetime
from pathlib import Path

from proctor.logcontext import SESSION

TEXT_FORMAT = "%(asctime)s %(levelname)s node=%(node)s session=%(session)s %(name)s: %(message)s"
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def escape_controls(text: str) -> str:
    """`text` with C0/C1 control characters and U+2028/2029 written as visible escapes (`\\n`, `\\x1b`)."""
    return CONTROLS.sub(_escape, text)


class TextFormatter(logging.Formatter):
    """One line per record: the formatted message escaped; a traceback after it keeps its own lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))


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
            "logger": escape_controls(record.name),
            "message": escape_controls(record.getMessage()),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        # json.dumps escapes C0 itself; C1 and U+2028/2029 (line ends to some readers) too, inside strings only
        return JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(line, ensure_ascii=False))


class QuietHealthChecks(logging.Filter):
    """Drops the access lines of successful health checks (a load balancer asks every second)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        quiet = len(args) >= 5 and args[2] in ("/healthz", "/readyz", "/readyz/live") and args[4] == 200
        return not quiet


def formatter(fmt: str) -> logging.Formatter:
    """The formatter of a log format (`text` or `json`)."""
    return JsonFormatter() if fmt == "json" else TextFormatter(TEXT_FORMAT)


def configure_plain(level: int) -> None:
    """Messages alone on stderr, escaped like the server's lines (the commands that are not the server)."""
    handler = logging.StreamHandler()
    handler.setFormatter(TextFormatter("%(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


def configure(node: str, level: str, fmt: str, log_file: Path | None = None) -> logging.Handler:
    """Send every log record (uvicorn's included) through one stderr handler in the chosen format, and to
    `log_file` too when given (appended, the same lines; reopened when logrotate moves it away, and written at
    its new end after a `copytruncate`). OSError when that file cannot be opened."""
    handler = logging.StreamHandler()
    handler.addFilter(NodeAndSession(node))
    handler.setFormatter(formatter(fmt))
    handlers: list[logging.Handler] = [handler]
    if log_file is not None:
        to_file = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
        to_file.addFilter(NodeAndSession(node))
        to_file.setFormatter(formatter(fmt))
        handlers.append(to_file)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if isinstance(old, logging.FileHandler):
            old.close()
    for new in handlers:
        root.addHandler(new)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QuietHealthChecks) for f in access.filters):
        access.addFilter(QuietHealthChecks())
    return handler
