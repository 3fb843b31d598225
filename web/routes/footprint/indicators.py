"""Footprint API: indicators of learners, groups, programmes and teachers, compliance reports, the
adverse-weather day report and evidence bundles — each computed at a signed checkpoint and naming it.

Parameters everywhere: `since`, `until` (the period) and `treeSize` (as of that checkpoint). Lists page like
the rest of the college API and answer `format=csv` with the whole table. Another college's ids are 404:
they are not in this college's catalogue.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from footprint.compliance.weather import CSV_COLUMNS, csv_rows
from footprint.evidence import evidence_bundle
from footprint.indicators.attendance import ClassHeld
from footprint.indicators.college import LearnerSummary, counted, learner_summary
from footprint.indicators.learners import WeekAttendance
from footprint.recompute import Scope
from footprint.reports import (
    Computed,
    FootprintNotFound,
    check_moment,
    checkpoints,
    compliance,
    compute,
    jsonable,
    one_learner,
    weather,
)
from proctor.sessions.listing import MAX_PAGE
from web.access_trail import Actor, record_access
from web.auth import FootprintKey
from web.deps import ServicesDep
from web.routes.footprint.common import (
    PRIVATE,
    Format,
    Since,
    TreeSize,
    Until,
    answer,
    basis_for,
    csv_answer,
    download,
    footprint_errors,
    page,
)

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, description="Items to skip.")]
ComplianceScope = Literal["programmes", "groups", "learners"]


def _computed(services: ServicesDep, college_id: str, tree_size: int | None, since: Any, until: Any) -> Computed:
    where = basis_for(services, college_id, tree_size, since, until)
    with services.sessions() as db, footprint_errors():
        return compute(db, where)


def _not_found(kind: str, item: str, computed: Computed) -> FootprintNotFound:
    return FootprintNotFound(f"no {kind} {item} in catalogue version {computed.basis.catalogue.version}")


@router.get("/checkpoints")
def list_checkpoints(credential: FootprintKey, services: ServicesDep) -> JSONResponse:
    """The newest signed checkpoints (`treeSize` values a report can be computed at)."""
    with services.sessions() as db:
        return JSONResponse({"items": checkpoints(db)}, headers=PRIVATE)


@router.get("/learners")
def list_learners(
    request: Request,
    credential: FootprintKey,
    services: ServicesDep,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
    group: Annotated[str | None, Query(description="Only this group's learners.")] = None,
    format: Format = "json",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Each learner's headline figures (attendance, logins, materials, assignments, score, mastery)."""
    computed = _computed(services, credential.college_id, tree_size, since, until)
    rows = [
        jsonable(learner_summary(item))
        for item in computed.indicators.learners.values()
        if group is None or item.group == group
    ]
    if format == "csv":
        return csv_answer(rows, computed.basis, "learners", computed.indicators.counted)
    return answer(computed.basis, page(request, rows, limit, offset), computed.indicators.counted)


@router.get("/learners/{learner_id}")
def get_learner(
    learner_id: str,
    request: Request,
    credential: FootprintKey,
    services: ServicesDep,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
    format: Annotated[
        Literal["json", "attendance", "assignments", "materials"],
        Query(description="json, or one of the learner's tables as CSV."),
    ] = "json",
) -> Response:
    """Every indicator of one learner (computed from that learner's statements only); each view is written to the
    access trail."""
    where = basis_for(services, credential.college_id, tree_size, since, until)
    with services.sessions() as db, footprint_errors():
        figures, own = one_learner(db, where, learner_id)
    record_access(services, credential.college_id, Actor.key(credential), "footprint_report", learner_id, request)
    data = jsonable(figures)
    seen = counted(own)  # the learner's own statements: unknown verbs and untrusted proctoring results among them
    if format != "json":
        rows = data["attendance"]["classes"] if format == "attendance" else data[format]
        return csv_answer(rows, where, f"{learner_id}-{format}", seen)
    return answer(where, data, seen)


def _table(kind: str, computed: Computed) -> dict[str, Any]:
    tables: dict[str, dict[str, Any]] = {
        "groups": computed.indicators.groups,
        "programmes": computed.indicators.programmes,
        "teachers": computed.indicators.teachers,
    }
    return tables[kind]


def _list(kind: str, request: Request, computed: Computed, format: str, limit: int, offset: int) -> Response:
    rows = [jsonable(item) for item in _table(kind, computed).values()]
    for row in rows:  # the list shows each one's figures; members and classes are on its own page
        row.pop("members", None)
        row.pop("classes", None)
        if "summary" in row:
            row["summary"].pop("weeks", None)
    if format == "csv":
        return csv_answer(rows, computed.basis, kind, computed.indicators.counted)
    return answer(computed.basis, page(request, rows, limit, offset), computed.indicators.counted)


ONE_TABLE: dict[str, tuple[tuple[str, ...], type[Any]]] = {
    "groups": (("members",), LearnerSummary),
    "programmes": (("summary", "weeks"), WeekAttendance),
    "teachers": (("classes",), ClassHeld),
}
"""The table a group's, programme's or teacher's CSV holds: where it is in the JSON, and what a row is."""


def _one(kind: str, item: str, computed: Computed, format: str) -> Response:
    found = _table(kind, computed).get(item)
    if found is None:
        with footprint_errors():
            raise _not_found(kind[:-1], item, computed)
    data = jsonable(found)
    if format == "csv":
        path, row = ONE_TABLE[kind]
        rows = data
        for key in path:
            rows = rows[key]
        columns = [f.name for f in dataclasses.fields(row)]
        return csv_answer(rows, computed.basis, f"{kind[:-1]}-{item}", computed.indicators.counted, columns)
    return answer(computed.basis, data, computed.indicators.counted)


@router.get("/groups")
def list_groups(
    request: Request,
    credential: FootprintKey,
    services: ServicesDep,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
    format: Format = "json",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Each group's figures (sums of its learners' counts, means of their rates)."""
    return _list(
        "groups", request, _computed(services, credential.college_id, tree_size, since, until), format, limit, offset
    )


@router.get("/groups/{group_id}")
def get_group(
    group_id: str,
    credential: FootprintKey,
    services: ServicesDep,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
    format: Format = "json",
) -> Response:
    """A group's figures, attendance by week and its learners' rows (CSV: the learners' table)."""
    return _one("groups", group_id, _computed(services, credential.college_id, tree_size, since, until), format)


@router.get("/programmes")
def list_programmes(
    request: Request,
    credential: FootprintKey,
    services: ServicesDep,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
    format: Format = "json",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Each programme's figures over its groups."""
    return _list(
        "programmes",
        request,
        _computed(services, credential.college_id, tree_size, since, until),
        format,
        limit,
        offset,
    )


@router.get("/programmes/{programme_id}")
def get_programme(
    programme_id: str,
    credential: FootprintKey,
    services: ServicesDep,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
    format: Format = "json",
) -> Response:
    """A programme's figures and attendance by week (CSV: the weeks)."""
    return _one("programmes", programme_id, _computed(services, credential.college_id, tree_size, since, until), format)


@router.get("/teachers")
def list_teachers(
    request: Request,
    credential: FootprintKey,
    services: ServicesDep,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
    format: Format = "json",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Each teacher's classes held live and on time, grading turnaround and feedback."""
    return _list(
        "teachers", request, _computed(services, credential.college_id, tree_size, since, until), format, limit, offset
    )


@router.get("/teachers/{teacher_id}")
def get_teacher(
    teacher_id: str,
    credential: FootprintKey,
    services: ServicesDep,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
    format: Format = "json",
) -> Response:
    """A teacher's figures and every synchronous class (CSV: the classes)."""
    return _one("teachers", teacher_id, _computed(services, credential.college_id, tree_size, since, until), format)


@router.get("/compliance")
def compliance_overview(
    credential: FootprintKey,
    services: ServicesDep,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
    format: Format = "json",
) -> Response:
    """Every programme's compliance status, with each check's value, limit, margin and clause."""
    computed = _computed(services, credential.college_id, tree_size, since, until)
    reports = [jsonable(compliance(computed, "programme", p)) for p in computed.index.programmes]
    if format == "csv":
        rows = [{"programme": r["id"], **check} for r in reports for check in r["checks"]]
        for row in rows:
            row.pop("details", None)
        return csv_answer(rows, computed.basis, "compliance", computed.indicators.counted)
    return answer(computed.basis, {"items": reports}, computed.indicators.counted)


@router.get("/compliance/{scope}/{item}")
def compliance_report(
    scope: ComplianceScope,
    item: str,
    request: Request,
    credential: FootprintKey,
    services: ServicesDep,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
    format: Format = "json",
) -> Response:
    """The compliance report of a programme, group or learner (CSV: its checks); a learner's is written to the
    access trail."""
    computed = _computed(services, credential.college_id, tree_size, since, until)
    with footprint_errors():
        report = jsonable(compliance(computed, scope[:-1], item))
    if scope == "learners":
        record_access(services, credential.college_id, Actor.key(credential), "footprint_report", item, request)
    if format == "csv":
        rows = [{k: v for k, v in check.items() if k != "details"} for check in report["checks"]]
        return csv_answer(rows, computed.basis, f"compliance-{scope[:-1]}-{item}", computed.indicators.counted)
    return answer(computed.basis, report, computed.indicators.counted)


@router.get("/weather-days/{day}")
def weather_day_report(
    day: date,
    credential: FootprintKey,
    services: ServicesDep,
    tree_size: TreeSize = None,
    format: Format = "json",
) -> Response:
    """The adverse-weather day report: per class moved online, learners connected, absentees, late work."""
    computed = _computed(services, credential.college_id, tree_size, None, None)
    with footprint_errors():
        found = weather(computed, day)
    report = jsonable(found)
    if format == "csv":
        rows = csv_rows(found)
        return csv_answer(rows, computed.basis, f"weather-{day.isoformat()}", computed.indicators.counted, CSV_COLUMNS)
    return answer(computed.basis, report, computed.indicators.counted)


def _evidence(
    services: ServicesDep,
    college_id: str,
    scope: Scope,
    tree_size: int | None,
    since: Any,
    until: Any,
    viewer: tuple[Actor, Request] | None = None,
) -> JSONResponse:
    """The evidence bundle of a scope; `viewer` (a learner's bundle names a person) is written to the access trail."""
    where = basis_for(services, college_id, tree_size, since, until)
    with services.sessions() as db, footprint_errors():
        if scope.kind == "day":
            check_moment("the day", date.fromisoformat(scope.id))
        bundle = evidence_bundle(db, services.ledger, where, scope)
    if viewer is not None:
        record_access(services, college_id, viewer[0], "footprint_report", scope.id, viewer[1])
    name = "-".join(
        part
        for part in ("evidence", scope.report if scope.report != "indicators" else "", scope.kind, scope.id)
        if part
    )
    return JSONResponse(bundle, headers=download(f"{name}.json"))


@router.get("/evidence/weather-days/{day}")
def weather_evidence(
    day: date, credential: FootprintKey, services: ServicesDep, tree_size: TreeSize = None
) -> JSONResponse:
    """The adverse-weather day report with the statements it rests on and their proofs."""
    return _evidence(
        services, credential.college_id, Scope("weather-day", "day", day.isoformat()), tree_size, None, None
    )


@router.get("/evidence/{kind}/{item}")
def indicators_evidence(
    kind: Literal["learners", "groups", "programmes", "teachers"],
    item: str,
    request: Request,
    credential: FootprintKey,
    services: ServicesDep,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
) -> JSONResponse:
    """A learner's, group's, programme's or teacher's indicators with the statements they rest on and their
    proofs: `footprint verify report` checks it offline. A learner's is written to the access trail."""
    viewer = (Actor.key(credential), request) if kind == "learners" else None
    scope = Scope("indicators", kind[:-1], item)
    return _evidence(services, credential.college_id, scope, tree_size, since, until, viewer)


@router.get("/evidence/compliance/{scope}/{item}")
def compliance_evidence(
    scope: ComplianceScope,
    item: str,
    request: Request,
    credential: FootprintKey,
    services: ServicesDep,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
) -> JSONResponse:
    """A programme's, group's or learner's compliance report with the statements it rests on and their proofs (a
    learner's is written to the access trail)."""
    viewer = (Actor.key(credential), request) if scope == "learners" else None
    where = Scope("compliance", scope[:-1], item)
    return _evidence(services, credential.college_id, where, tree_size, since, until, viewer)
