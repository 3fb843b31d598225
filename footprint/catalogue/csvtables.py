"""The catalogue's tables as CSV, the way colleges keep them in spreadsheets.

One header row names the columns (any order; `,` or `;` as Excel writes them in Russian or Kazakh
locales). Empty cells are absent values. Cells that hold lists: ids and IRIs separated by spaces;
`aliases` separated by `;`; `accounts` as `homePage|name` or `mailto:…` separated by spaces; episode
`documents` as `kind|number|date[|issuer]` separated by `;`. Times without an offset are in the
catalogue's time zone.
"""

from __future__ import annotations

import csv
import io
import zoneinfo
from collections.abc import Callable
from datetime import datetime
from typing import Any

from footprint.catalogue.checks import time_zones

MAX_ROWS = 200_000


class CsvError(ValueError):
    """A CSV file that cannot be read as the named table."""


def _ids(cell: str) -> list[str]:
    return cell.split()


def _aliases(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _accounts(cell: str) -> list[dict[str, str]]:
    accounts = []
    for item in cell.split():
        if item.startswith("mailto:"):
            accounts.append({"mbox": item})
        else:
            home, separator, name = item.rpartition("|")
            if not separator:
                raise ValueError(f"account {item!r} is neither homePage|name nor mailto:")
            accounts.append({"homePage": home, "name": name})
    return accounts


def _documents(cell: str) -> list[dict[str, str]]:
    documents = []
    for item in _aliases(cell):
        parts = [part.strip() for part in item.split("|")]
        if len(parts) not in (3, 4):
            raise ValueError(f"document {item!r} is not kind|number|date[|issuer]")
        document = {"kind": parts[0], "number": parts[1], "date": parts[2]}
        if len(parts) == 4 and parts[3]:
            document["issuer"] = parts[3]
        documents.append(document)
    return documents


def _flag(cell: str) -> bool:
    value = cell.strip().lower()
    if value in ("1", "true", "yes", "да", "иә"):
        return True
    if value in ("0", "false", "no", "нет", "жоқ"):
        return False
    raise ValueError(f"{cell!r} is not true or false")


def _number(cell: str) -> float:
    try:
        return float(cell.replace(",", "."))
    except ValueError:
        raise ValueError(f"{cell!r} is not a number") from None


Cell = Callable[[str], Any]


def TEXT(cell: str) -> str:  # noqa: N802  (reads as a column type in the table below)
    return cell


def TIME(cell: str) -> str:  # noqa: N802
    """A date and time; converted with the catalogue's zone in `read_csv` (see `_time`)."""
    return cell


CSV_TABLES: dict[str, dict[str, Cell]] = {
    "programmes": {"id": TEXT, "name": TEXT, "level": TEXT, "form": TEXT, "field": TEXT},
    "curriculum": {
        "programme": TEXT,
        "code": TEXT,
        "name": TEXT,
        "hours": _number,
        "credits": _number,
        "practice": _flag,
        "course": TEXT,
        "materials": _ids,
        "exams": _ids,
        "distance_credits": _number,
        "recognition": TEXT,
    },
    "groups": {"id": TEXT, "programme": TEXT, "name": TEXT},
    "learners": {"id": TEXT, "name": TEXT, "group": TEXT, "accounts": _accounts, "aliases": _aliases},
    "teachers": {"id": TEXT, "name": TEXT, "accounts": _accounts, "aliases": _aliases},
    "approved_lists": {
        "order_number": TEXT,
        "order_date": TEXT,
        "order_issuer": TEXT,
        "programme": TEXT,
        "disciplines": _ids,
        "valid_from": TEXT,
        "valid_until": TEXT,
    },
    "classes": {
        "id": TEXT,
        "group": TEXT,
        "teacher": TEXT,
        "discipline": TEXT,
        "start": TIME,
        "end": TIME,
        "mode": TEXT,
        "activity": TEXT,
        "registration": TEXT,
        "hours": _number,
        "assignments": _ids,
    },
    "assignments": {"id": TEXT, "programme": TEXT, "discipline": TEXT, "activity": TEXT, "due": TIME, "groups": _ids},
    "episodes": {
        "id": TEXT,
        "ground": TEXT,
        "learner": TEXT,
        "group": TEXT,
        "start": TIME,
        "end": TIME,
        "approver": TEXT,
        "shift": TEXT,
        "classes": _ids,
        "documents": _documents,
        "activity": TEXT,
    },
    "terms": {"id": TEXT, "name": TEXT, "starts": TEXT, "ends": TEXT},
}
"""Columns of each CSV table and how a cell becomes a value."""


def _time(cell: str, zone: zoneinfo.ZoneInfo) -> str:
    try:
        moment = datetime.fromisoformat(cell.strip().replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"{cell!r} is not a date and time such as 2026-09-01T09:00") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).isoformat()


def _shape(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """Columns that the JSON form nests (an approved list's order) put in their place."""
    if table == "approved_lists":
        order = {"kind": "head_order", "number": row.pop("order_number", None), "date": row.pop("order_date", None)}
        if "order_issuer" in row:
            order["issuer"] = row.pop("order_issuer")
        row["order"] = order
    return row


def read_csv(table: str, text: str, timezone: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Rows of a CSV table as JSON-shaped objects, and the file line each row starts on."""
    columns = CSV_TABLES[table]
    zone = zoneinfo.ZoneInfo(timezone if timezone in time_zones() else "UTC")
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise CsvError(f"{table}.csv is empty: the first row names the columns") from None
    except csv.Error as exc:
        raise CsvError(f"{table}.csv line 1: {exc}") from exc
    unknown = [name for name in header if name not in columns]
    if unknown:
        raise CsvError(f"{table}.csv: unknown column(s) {', '.join(unknown)}; columns are {', '.join(columns)}")
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                raise CsvError(f"{table}.csv line {line}: {len(cells)} cells under {len(header)} columns")
            if len(rows) >= MAX_ROWS:
                raise CsvError(f"{table}.csv has more than {MAX_ROWS} rows")
            row: dict[str, Any] = {}
            for name, cell in zip(header, cells, strict=False):
                if not cell.strip():
                    continue
                convert = columns[name]
                try:
                    row[name] = _time(cell, zone) if convert is TIME else convert(cell.strip())
                except ValueError as exc:
                    raise CsvError(f"{table}.csv line {line} ({name}): {exc}") from exc
            rows.append(_shape(table, row))
            lines.append(line)
    except csv.Error as exc:
        raise CsvError(f"{table}.csv line {reader.line_num}: {exc}") from exc
    return rows, lines
