"""JSON from outside, within bounds: a nesting depth no honest document needs, and no NUL characters.

Deeply nested JSON is a denial of service (recursion in the parser, the validators and the
canonicaliser), and PostgreSQL cannot store U+0000 in text, so both are refused where JSON enters
the platform, with a message that says what is wrong.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted; xAPI statements and documents need far less."""


class JSONLimitError(ValueError):
    """JSON that is not valid (`reason` "invalid"), nests deeper than allowed ("depth") or holds NUL ("nul")."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _too_deep(what: str, max_depth: int) -> JSONLimitError:
    return JSONLimitError(f"{what} nests arrays/objects deeper than {max_depth} levels", "depth")


def _nul(what: str) -> JSONLimitError:
    return JSONLimitError(f"{what} holds a NUL character (U+0000), which cannot be stored", "nul")


def loads(data: str | bytes, what: str = "the request body", max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON and check its depth and strings; raises JSONLimitError naming `what` and the problem."""
    try:
        value = json.loads(data)
    except RecursionError as exc:
        raise _too_deep(what, max_depth) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise JSONLimitError(f"{what} is not valid JSON: {exc}", "invalid") from exc
    check(value, what, max_depth, nul_possible=_may_hold_nul(data))
    return value


def _may_hold_nul(data: str | bytes) -> bool:
    # JSON can only carry U+0000 escaped, as \u0000: without that text no string can hold a NUL.
    return (b"\\u0000" in data) if isinstance(data, bytes) else ("\\u0000" in data or "\0" in data)


def check(value: Any, what: str = "the document", max_depth: int = MAX_DEPTH, *, nul_possible: bool = True) -> None:
    """Refuse a parsed JSON value nesting deeper than `max_depth` or holding NUL in a key or a string."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > max_depth:
                raise _too_deep(what, max_depth)
            for key, child in item.items():
                if nul_possible and "\0" in key:
                    raise _nul(what)
                if isinstance(child, dict | list) or (nul_possible and isinstance(child, str)):
                    stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > max_depth:
                raise _too_deep(what, max_depth)
            stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list | str))
        elif isinstance(item, str) and nul_possible and "\0" in item:
            raise _nul(what)
