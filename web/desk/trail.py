"""Who saw what, on the desk (admins only): the college's access trail — every view or download of a recording,
evidence picture, reference photo, face, protocol or learner report (web/access_trail.py) — newest first, filtered by
actor, what, object and days, 100 to a page, and the same list as CSV."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from footprint.exports import to_csv
from web.access_trail import CSV_COLUMNS, WHATS, AccessFilter, AccessRecord, access_records
from web.deps import ServicesDep
from web.desk.auth import DeskAdmin, DeskDenied
from web.desk.pages import common
from web.desk.render import render

router = APIRouter(prefix="/desk", include_in_schema=False)

PER_PAGE = 100
WHAT_KEYS = {
    "recording": "desk.access.what_recording",
    "evidence": "desk.access.what_evidence",
    "reference_photo": "desk.access.what_reference_photo",
    "face": "desk.access.what_face",
    "protocol": "desk.access.what_protocol",
    "footprint_report": "desk.access.what_footprint_report",
}
"""The catalog key of each kind of access (one per `WHATS`)."""
ACTOR_KEYS = {"person": "desk.access.actor_person", "key": "desk.access.actor_key"}
Text = Annotated[str, Query(max_length=255)]


def _day(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DeskDenied(422, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _filter(actor: str, what: str, obj: str, since: str, until: str) -> AccessFilter:
    if what and what not in WHATS:
        raise DeskDenied(422, f"no such kind of access: {what!r}")
    return AccessFilter(actor.strip() or None, what or None, obj.strip() or None, _day(since), _day(until))


def _records(services: ServicesDep, admin: DeskAdmin, wanted: AccessFilter) -> list[AccessRecord]:
    with services.sessions() as db:
        return list(access_records(db, admin.person.college_id, wanted))


@router.get("/access", response_class=HTMLResponse)
def access_page(
    request: Request,
    services: ServicesDep,
    admin: DeskAdmin,
    actor: Text = "",
    what: Text = "",
    object: Text = "",
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """The college's access records, newest first, a page of 100 at a time."""
    records = _records(services, admin, _filter(actor, what, object, since, until))
    pages = max(1, -(-len(records) // PER_PAGE))
    shown = records[(page - 1) * PER_PAGE : page * PER_PAGE]
    filters = {"actor": actor, "what": what, "object": object, "from": since, "to": until}
    query = urlencode({name: value for name, value in filters.items() if value})
    values = {
        "records": shown,
        "total": len(records),
        "page": page,
        "pages": pages,
        "filters": filters,
        "whats": WHAT_KEYS,
        "actor_kinds": ACTOR_KEYS,
        "previous": f"?{request.url.include_query_params(page=page - 1).query}" if page > 1 else None,
        "following": f"?{request.url.include_query_params(page=page + 1).query}" if page < pages else None,
        "csv": "/desk/access.csv" + (f"?{query}" if query else ""),
    }
    return render(request, "desk/access.html", {**values, **common(admin)})


@router.get("/access.csv")
def access_csv(
    services: ServicesDep,
    admin: DeskAdmin,
    actor: Text = "",
    what: Text = "",
    object: Text = "",
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> Response:
    """The same records as CSV (every one the filters keep, not only a page)."""
    records = _records(services, admin, _filter(actor, what, object, since, until))
    text = to_csv([record.row() for record in records], None, CSV_COLUMNS)
    headers = {"Cache-Control": "private, no-store", "Content-Disposition": 'attachment; filename="access.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)
