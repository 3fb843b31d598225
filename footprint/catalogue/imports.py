"""Catalogue imports: a whole catalogue as JSON, or one table as a JSON array or a CSV spreadsheet export.

A table import replaces that table in a copy of the current version; the result is checked as a whole
before anything is stored. Every error names where it is (`classes[3].end`, `classes.csv line 5`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from footprint.catalogue.checks import CatalogueError
from footprint.catalogue.csvtables import CSV_TABLES, CsvError, read_csv
from footprint.catalogue.model import TABLES, Catalogue

TABLE_NAMES = (*TABLES, "curriculum")
"""Tables a college may replace one at a time: the catalogue's lists, and `curriculum` (every programme's
disciplines, which the JSON form nests inside the programmes)."""


def _where(location: Sequence[int | str], table: str | None, lines: Sequence[int] | None) -> str:
    """`classes[3].end`, or `classes.csv line 5 (end)` when the rows came from a CSV file."""
    parts = list(location)
    if table is not None and lines is not None and len(parts) >= 2 and parts[0] == table and isinstance(parts[1], int):
        line = lines[parts[1]] if parts[1] < len(lines) else "?"
        rest = ".".join(str(part) for part in parts[2:])
        return f"{table}.csv line {line}" + (f" ({rest})" if rest else "")
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "catalogue"


def _problems(exc: ValidationError, table: str | None = None, lines: Sequence[int] | None = None) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        location = [part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{_where(location, table, lines)}: {message}")
    return problems


def parse_catalogue(data: Any) -> Catalogue:
    """A whole catalogue from its JSON value; raises CatalogueError listing what is wrong."""
    if not isinstance(data, dict):
        raise CatalogueError(["the catalogue must be a JSON object"])
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        raise CatalogueError(_problems(exc)) from exc


def _with_curriculum(current: Catalogue, rows: list[dict[str, Any]], lines: Sequence[int] | None) -> Catalogue:
    by_programme: dict[str, list[dict[str, Any]]] = {}
    known = {p.id for p in current.programmes}
    problems = []
    for number, row in enumerate(rows):
        programme = row.pop("programme", None)
        if programme not in known:
            where = f"curriculum.csv line {lines[number]}" if lines else f"curriculum[{number}]"
            problems.append(f"{where}: no programme {programme!r} (import the programmes first)")
        by_programme.setdefault(str(programme), []).append(row)
    if problems:
        raise CatalogueError(problems)
    data = current.model_dump(mode="json")
    for programme in data["programmes"]:
        programme["disciplines"] = by_programme.get(programme["id"], [])
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        raise CatalogueError(_problems(exc)) from exc


def replace_table(current: Catalogue | None, table: str, rows: Any, lines: Sequence[int] | None = None) -> Catalogue:
    """A copy of the current catalogue (or an empty one) with one table replaced by `rows`."""
    if table not in TABLE_NAMES:
        raise CatalogueError([f"no table {table!r}: tables are {', '.join(TABLE_NAMES)}"])
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise CatalogueError([f"the {table} table must be a JSON array of objects"])
    base = current or Catalogue()
    if table == "curriculum":
        return _with_curriculum(base, [dict(row) for row in rows], lines)
    data = base.model_dump(mode="json")
    if table == "programmes":  # rows without disciplines keep the ones the current version has
        kept = {p["id"]: p["disciplines"] for p in data["programmes"]}
        rows = [{**row, "disciplines": row.get("disciplines") or kept.get(str(row.get("id")), [])} for row in rows]
    data[table] = rows
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        raise CatalogueError(_problems(exc, table, lines)) from exc


def replace_table_csv(current: Catalogue | None, table: str, text: str) -> Catalogue:
    """A copy of the current catalogue with one table replaced by a CSV export (UTF-8, header row)."""
    if table not in CSV_TABLES:
        raise CatalogueError([f"no table {table!r}: CSV tables are {', '.join(CSV_TABLES)}"])
    timezone = (current or Catalogue()).timezone
    try:
        rows, lines = read_csv(table, text, timezone)
    except CsvError as exc:
        raise CatalogueError([str(exc)]) from exc
    return replace_table(current, table, rows, lines)
