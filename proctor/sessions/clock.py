"""The database's clock, the one clock every platform node shares: job leases, deadlines and retry times are
set and judged by it, never by a node's own clock (which may be minutes off another node's).

`db_time(seconds)` is SQL for "the database's current time plus `seconds`". On PostgreSQL it is the
transaction's start time (`CURRENT_TIMESTAMP`, with its time zone); on SQLite — one node by construction —
it is written in the text form SQLAlchemy stores SQLite date-times in (naive UTC, six decimals), so it
compares with stored values as text compares.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class db_time(FunctionElement[datetime]):  # noqa: N801  (an SQL function, named like one)
    """The database's current time plus `seconds` (which may be negative)."""

    type = DateTime(timezone=True)
    inherit_cache = True
    name = "db_time"

    def __init__(self, seconds: float = 0.0) -> None:
        super().__init__(literal(float(seconds), Float()))


@compiles(db_time)
def _standard(element: db_time, compiler: SQLCompiler, **kw: Any) -> str:
    (seconds,) = element.clauses
    return f"(CURRENT_TIMESTAMP + {compiler.process(seconds, **kw)} * INTERVAL '1 second')"


@compiles(db_time, "sqlite")
def _sqlite(element: db_time, compiler: SQLCompiler, **kw: Any) -> str:
    (seconds,) = element.clauses
    offset = compiler.process(seconds, **kw)
    return f"strftime('%Y-%m-%d %H:%M:%f000', 'now', printf('%+.6f seconds', {offset}))"
