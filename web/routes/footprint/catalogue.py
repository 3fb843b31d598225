"""Footprint API: the college's catalogue — import it whole (JSON) or one table at a time (JSON or CSV),
read it back, list its versions, and get its JSON Schema.

An import is checked as a whole before anything is stored: a malformed body is 400, a catalogue that breaks
the schema or its own references is 422 with every problem listed, and then nothing is written. An import
equal to the current version stores nothing (200); a new version answers 201.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from footprint import jsonlimits
from footprint.catalogue.checks import CatalogueError
from footprint.catalogue.imports import TABLE_NAMES, parse_catalogue, replace_table, replace_table_csv
from footprint.catalogue.model import Catalogue
from footprint.catalogue.schema import shipped_schema
from footprint.catalogue.store import (
    CatalogueVersion,
    catalogue_version,
    catalogue_versions,
    latest_catalogue,
    save_catalogue,
)
from web.auth import FootprintKey
from web.deps import BodyDep, ServicesDep
from web.routes.footprint.common import PRIVATE, refused

router = APIRouter(prefix="/catalogue")


def _parse_json(body: bytes) -> Any:
    try:
        return jsonlimits.loads(body, "the catalogue")
    except jsonlimits.JSONLimitError as exc:
        raise HTTPException(400, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(400, f"the body is not JSON: {exc}") from exc


def _store(services: ServicesDep, college_id: str, build: Any, source: str) -> JSONResponse:
    """Build the new catalogue from the current one and store it, in one transaction."""
    try:
        with services.writing() as db:
            current = latest_catalogue(db, college_id)
            catalogue: Catalogue = build(current.catalogue if current else None)
            version, created = save_catalogue(db, services.ledger, college_id, catalogue, source)
    except CatalogueError as exc:
        return refused(exc)
    return JSONResponse(version.summary(), status_code=201 if created else 200, headers=PRIVATE)


@router.get("/schema")
def schema() -> JSONResponse:
    """The JSON Schema of a catalogue import (draft 2020-12)."""
    return JSONResponse(shipped_schema(), media_type="application/schema+json")


@router.put("", responses={201: {"description": "A new version"}, 422: {"description": "Every problem listed"}})
def import_catalogue(body: BodyDep, credential: FootprintKey, services: ServicesDep) -> JSONResponse:
    """Import the whole catalogue (JSON, see the schema); it becomes the college's next version."""
    data = _parse_json(body)
    try:
        catalogue = parse_catalogue(data)
    except CatalogueError as exc:
        return refused(exc)
    return _store(services, credential.college_id, lambda _current: catalogue, "catalogue")


@router.put("/{table}", responses={201: {"description": "A new version"}, 422: {"description": "Every problem listed"}})
def import_table(
    table: str,
    body: BodyDep,
    credential: FootprintKey,
    services: ServicesDep,
    content_type: Annotated[str, Header()] = "application/json",
) -> JSONResponse:
    """Replace one table (`programmes`, `curriculum`, `groups`, `learners`, `teachers`, `approved_lists`,
    `classes`, `assignments`, `episodes`): a JSON array, or a CSV export with `Content-Type: text/csv`."""
    if table not in TABLE_NAMES:
        raise HTTPException(404, f"no table {table!r}: tables are {', '.join(TABLE_NAMES)}")
    if content_type.split(";")[0].strip().lower() in ("text/csv", "application/csv"):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HTTPException(400, "the CSV file is not UTF-8 text") from exc
        if "\x00" in text:
            raise HTTPException(400, "the CSV file holds NUL characters")
        return _store(
            services, credential.college_id, lambda current: replace_table_csv(current, table, text), f"csv:{table}"
        )
    rows = _parse_json(body)
    return _store(services, credential.college_id, lambda current: replace_table(current, table, rows), f"json:{table}")


@router.get("")
def read_catalogue(
    credential: FootprintKey,
    services: ServicesDep,
    version: Annotated[int | None, Query(ge=1, description="A version number (default: the newest).")] = None,
) -> JSONResponse:
    """The college's catalogue (the newest version, or the one asked for) with its version and SHA-256."""
    with services.sessions() as db:
        found: CatalogueVersion | None = (
            latest_catalogue(db, credential.college_id)
            if version is None
            else catalogue_version(db, credential.college_id, version)
        )
    if found is None:
        raise HTTPException(404, "no catalogue imported" if version is None else f"no catalogue version {version}")
    return JSONResponse({**found.summary(), "catalogue": found.catalogue.model_dump(mode="json")}, headers=PRIVATE)


@router.get("/versions")
def versions(credential: FootprintKey, services: ServicesDep) -> JSONResponse:
    """Every version of the college's catalogue, newest first, with where the ledger proves each."""
    with services.sessions() as db:
        return JSONResponse({"items": catalogue_versions(db, credential.college_id)}, headers=PRIVATE)
