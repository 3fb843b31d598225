"""What the footprint API's handlers share: the checkpoint a request computes at, errors, JSON and CSV answers.

A request without `treeSize` computes at the newest stored checkpoint: the server signs one every
`PROCTOR_CHECKPOINT_INTERVAL_S` while entries arrive (and `GET /ledger/checkpoint` signs one at once), so a
read never writes.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from footprint.catalogue.checks import CatalogueError
from footprint.exports import to_csv
from footprint.indicators.college import Counted
from footprint.reports import Basis, FootprintBadRequest, FootprintNotFound, basis, jsonable
from web.deps import Services
from web.errors import error_response
from web.routes.college.models import UTCTime
from web.urls import public_url

TreeSize = Annotated[
    int | None,
    Query(alias="treeSize", ge=1, description="Compute as of this signed checkpoint (default: the newest stored)."),
]
Since = Annotated[
    UTCTime | None,
    Query(
        description="Start of the period (default: the catalogue's term in force, else the timetable's first class; "
        "the answer's `period.source` says which)."
    ),
]
Until = Annotated[UTCTime | None, Query(description="End of the period (default: when the checkpoint was signed).")]
Format = Annotated[Literal["json", "csv"], Query(description="`csv` for the table as a spreadsheet.")]
PRIVATE = {"Cache-Control": "private, no-store"}
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


@contextlib.contextmanager
def footprint_errors() -> Iterator[None]:
    """Domain errors as the platform's HTTP errors (404 for what this college does not have)."""
    try:
        yield
    except FootprintNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except FootprintBadRequest as exc:
        raise HTTPException(400, str(exc)) from exc


def refused(exc: CatalogueError) -> JSONResponse:
    return error_response(422, "invalid_catalogue", f"the catalogue was not imported: {exc}", exc.problems)


def basis_for(
    services: Services, college_id: str, tree_size: int | None, since: datetime | None, until: datetime | None
) -> Basis:
    """The checkpoint (the given one, else the newest stored), catalogue and period a request computes at."""
    with services.sessions() as db, footprint_errors():
        return basis(db, services.ledger, college_id, tree_size, since, until)


def answer(where: Basis, body: Mapping[str, Any], counted: Counted) -> JSONResponse:
    """A report: its basis (checkpoint, versions, period), its figures, and what was counted and what ignored
    (statements of nobody in the catalogue, verbs outside the vocabulary with their numbers, untrusted proctoring
    results)."""
    return JSONResponse({**where.to_json(), **body, "counted": jsonable(counted)}, headers=PRIVATE)


def download(name: str) -> dict[str, str]:
    """Headers of a download whose file name is built from ids (anything unusual becomes `_`)."""
    return {**PRIVATE, "Content-Disposition": f'attachment; filename="{SAFE_NAME.sub("_", name)}"'}


def csv_answer(
    rows: Sequence[Mapping[str, Any]], where: Basis, name: str, counted: Counted, columns: Sequence[str] = ()
) -> Response:
    """A table as CSV, its basis and what was counted in `#` lines above the header."""
    headers = download(f"{name}.csv")
    above = {**where.to_json(), "counted": jsonable(counted)}
    return Response(to_csv(rows, above, columns), media_type="text/csv; charset=utf-8", headers=headers)


def page(request: Request, items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """One page of a list, in the college API's list shape."""
    chosen = items[offset : offset + limit]
    following = None
    if offset + len(chosen) < len(items):
        following = public_url(request, offset=offset + limit)
    return {"items": chosen, "total": len(items), "limit": limit, "offset": offset, "next": following}
