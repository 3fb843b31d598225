"""CSV exports of report tables: one row per item, nested values as dotted columns, lists joined by spaces.

The first row names the columns; a report's basis (checkpoint and versions) goes in `#` comment lines
above it, so a spreadsheet row can be traced back to what it was computed from.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested JSON object as one level of dotted keys (lists of scalars joined by spaces)."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            flat.update(flatten(item, f"{name}."))
        elif isinstance(item, list):
            flat[name] = " ".join(str(v) for v in item if not isinstance(v, Mapping | list))
        else:
            flat[name] = item
    return flat


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, str) and text.startswith(FORMULA_START):
        return "'" + text  # a name starting with = must not run as a spreadsheet formula
    return text


def to_csv(
    rows: Iterable[Mapping[str, Any]], basis: Mapping[str, Any] | None = None, columns: Sequence[str] = ()
) -> str:
    """CSV text of the rows: the given columns first, then any others in first-seen order (a table without rows
    still names its columns)."""
    flat = [flatten(row) for row in rows]
    columns = list(columns)
    for row in flat:
        columns += [key for key in row if key not in columns]
    out = io.StringIO()
    if basis:
        for key, value in flatten(basis).items():
            if key != "checkpoint.note":
                out.write(f"# {key}: {value}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in flat:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return out.getvalue()
