"""The footprint pages of the desk (a college's signed-in admins): the college's programmes with their
compliance gauges and attendance over the weeks, a group, a learner's timeline, an adverse-weather day, and
CSV exports. Every page states the checkpoint it was computed at and how to verify it offline."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from footprint.compliance.checks import CheckResult
from footprint.compliance.report import learner_report
from footprint.exports import to_csv
from footprint.indicators.college import counted, learner_summary
from footprint.indicators.learners import LearnerIndicators, WeekAttendance
from footprint.reports import (
    Basis,
    Computed,
    FootprintBadRequest,
    FootprintNotFound,
    compliance,
    compute,
    index_of,
    jsonable,
    one_learner,
    weather,
)
from web.access_trail import Actor, record_access
from web.deps import ServicesDep
from web.desk.auth import DeskAdmin
from web.desk.pages import common
from web.desk.render import render, request_language
from web.pages.footprint.charts import (
    ATTENDANCE_COLOURS,
    STATUS_COLOURS,
    WORK_COLOURS,
    Mark,
    gauge,
    timeline,
    weekly_bars,
)
from web.pages.i18n import catalog
from web.routes.footprint.common import SAFE_NAME, Since, TreeSize, Until, basis_for, download, footprint_errors

router = APIRouter(prefix="/desk/footprint", include_in_schema=False)

Text = Callable[..., str]
STATUS_KEYS = {
    "pass": "footprint.status.pass",
    "at_risk": "footprint.status.at_risk",
    "fail": "footprint.status.fail",
    "not_assessed": "footprint.status.not_assessed",
    "not_applicable": "footprint.status.not_applicable",
}
ATTENDANCE_KEYS = {
    "present": "footprint.attendance.present",
    "late": "footprint.attendance.late",
    "left_early": "footprint.attendance.left_early",
    "absent": "footprint.attendance.absent",
}
WORK_KEYS = {
    "on_time": "footprint.work.on_time",
    "late": "footprint.work.late",
    "missing": "footprint.work.missing",
    "pending": "footprint.work.pending",
}
RESULT_KEYS = {
    "confirmed": "footprint.result.confirmed",
    "annulled": "footprint.result.annulled",
    "retake": "footprint.result.retake",
    "passed": "footprint.result.passed",
    "failed": "footprint.result.failed",
    "": "footprint.result.awaiting",
}
LEVEL_KEYS = {"tvet": "footprint.level.tvet", "higher": "footprint.level.higher"}
FORM_KEYS = {
    "full_time": "footprint.form.full_time",
    "extramural": "footprint.form.extramural",
    "evening": "footprint.form.evening",
    "external": "footprint.form.external",
    "online": "footprint.form.online",
}
GROUND_KEYS = {
    "weather": "footprint.ground.weather",
    "emergency": "footprint.ground.emergency",
    "medical": "footprint.ground.medical",
    "competition": "footprint.ground.competition",
    "parents": "footprint.ground.parents",
}
DOCUMENT_KEYS = {
    "head_order": "footprint.document.head_order",
    "department_order": "footprint.document.department_order",
    "commission_conclusion": "footprint.document.commission_conclusion",
    "authority_order": "footprint.document.authority_order",
    "authority_letter": "footprint.document.authority_letter",
    "learner_application": "footprint.document.learner_application",
    "parents_application": "footprint.document.parents_application",
    "council_decision": "footprint.document.council_decision",
    "approver": "footprint.document.approver",
}
RULE_KEYS = {
    "tvet.synchronous_share": ("footprint.rule.tvet.synchronous_share", "footprint.clause.tvet.synchronous_share"),
    "tvet.distance_share": ("footprint.rule.tvet.distance_share", "footprint.clause.tvet.distance_share"),
    "tvet.forbidden_fields": ("footprint.rule.tvet.forbidden_fields", "footprint.clause.tvet.forbidden_fields"),
    "tvet.approved_list": ("footprint.rule.tvet.approved_list", "footprint.clause.tvet.approved_list"),
    "tvet.episode_grounds": ("footprint.rule.tvet.episode_grounds", "footprint.clause.tvet.episode_grounds"),
    "higher.distance_share_restricted": (
        "footprint.rule.higher.distance_share_restricted",
        "footprint.clause.higher.distance_share",
    ),
    "higher.distance_share": ("footprint.rule.higher.distance_share", "footprint.clause.higher.distance_share"),
    "higher.academic_mobility": ("footprint.rule.higher.academic_mobility", "footprint.clause.higher.recognition"),
    "higher.double_degree": ("footprint.rule.higher.double_degree", "footprint.clause.higher.recognition"),
    "higher.non_formal": ("footprint.rule.higher.non_formal", "footprint.clause.higher.recognition"),
    "tvet.in_force": ("footprint.rule.in_force", ""),
    "higher.in_force": ("footprint.rule.in_force", ""),
}
"""The shipped rule tables' checks in the page's language (a check of a newer table shows its own words)."""
GROUND_CLAUSE_KEYS = {"weather": "footprint.clause.ground.weather"}
OTHER_GROUND_CLAUSE = "footprint.clause.ground.other"
UNIT_KEYS = {"hours": "footprint.unit.hours", "episodes": "footprint.unit.episodes"}
SOURCE_KEYS = {
    "meeting": "footprint.source.meeting",
    "attended": "footprint.source.attended",
    "none": "footprint.source.none",
}
HEADLINE_CHECKS = (
    "tvet.synchronous_share",
    "tvet.distance_share",
    "higher.distance_share_restricted",
    "higher.distance_share",
)
Export = Literal["learners", "groups", "programmes", "teachers", "compliance"]


def _texts(request: Request) -> Text:
    return catalog(request_language(request)).text


def _missing(t: Text) -> Callable[[list[str]], str]:
    """What an episode lacks, in the page's language (`no head_order`, `no a or b`, `no approver`)."""

    def explain(items: list[str]) -> str:
        words = []
        for item in items:
            kinds = item.removeprefix("no ").split(" or ")
            words.append(" / ".join(t(DOCUMENT_KEYS[k]) if k in DOCUMENT_KEYS else k for k in kinds))
        return "; ".join(words)

    return explain


def _wording(t: Text, zone: ZoneInfo, language: str) -> dict[str, Callable[..., str]]:
    """Helpers the templates use to say a check, a clause, a limit and a time in the page's language."""

    def rule(check: CheckResult) -> str:
        keys = RULE_KEYS.get(check.id)
        return t(keys[0]) if keys else check.title

    def clause(check: CheckResult) -> str:
        keys = RULE_KEYS.get(check.id)
        return t(keys[1]) if keys and keys[1] else check.clause

    def ground_clause(ground: str) -> str:
        return t(GROUND_CLAUSE_KEYS.get(ground, OTHER_GROUND_CLAUSE))

    def limit(check: CheckResult) -> str:
        sign, _, rest = check.limit.partition(" ")
        number = rest.split(" ")[0]
        return f"{sign} {number} " + (
            "%" if check.unit == "percent" else t(UNIT_KEYS.get(check.unit, "footprint.unit.hours"))
        )

    def local(text: str | None) -> str:
        if not text:
            return "–"
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return format_datetime(moment, "short", tzinfo=zone, locale=language)

    return {"rule": rule, "clause": clause, "ground_clause": ground_clause, "limit": limit, "local": local}


def verify_commands(base: str, bundles: list[str], query: dict[str, str]) -> list[str]:
    """The shell commands that fetch the evidence of each report a page shows and prove it offline."""
    files = [f"evidence-{SAFE_NAME.sub('_', path.replace('/', '-'))}.json" for path in bundles]
    urls = [f"{base}/api/v1/footprint/evidence/{path}?{urlencode(query)}" for path in bundles]
    fetch = [
        f'curl -H "Authorization: Bearer $KEY" {shlex.quote(url)} > {name}'
        for url, name in zip(urls, files, strict=True)
    ]
    prove = [f"footprint verify report --bundle {name} --public-key ledger.pub" for name in files]
    return [*fetch, f"curl {shlex.quote(base + '/ledger/public-key')} > ledger.pub", *prove]


PERIOD_SOURCES = {
    "asked": "footprint.period.source.asked",
    "term": "footprint.period.source.term",
    "first class": "footprint.period.source.first_class",
    "30 days": "footprint.period.source.last_days",
}
"""The words for where a report's period came from (`Basis.source`)."""


def _frame(
    request: Request, services: ServicesDep, user: DeskAdmin, where: Basis, bundles: list[str], period: bool = True
) -> dict[str, Any]:
    """What every footprint page shows: who is signed in, the basis, the period form and how to verify each report
    on it (`bundles`: the evidence paths of the reports shown; a weather day's takes no period)."""
    query = {
        "treeSize": str(where.tree_size),
        "since": datetime.fromtimestamp(where.period.since, UTC).isoformat(),
        "until": datetime.fromtimestamp(where.period.until, UTC).isoformat(),
    }
    evidence_query = query if period else {"treeSize": query["treeSize"]}
    return {
        **common(user),
        "basis": where.to_json(),
        "signed_at": where.signed_at,
        "period_from": datetime.fromtimestamp(where.period.since, UTC),
        "period_to": datetime.fromtimestamp(where.period.until, UTC),
        "period_source": PERIOD_SOURCES.get(where.source, "footprint.period.source.asked"),
        "since_day": datetime.fromtimestamp(where.period.since, UTC).date().isoformat(),
        "until_day": datetime.fromtimestamp(where.period.until, UTC).date().isoformat(),
        "commands": verify_commands(services.settings.base_url, bundles, evidence_query),
        "query": urlencode(query),
        "status_keys": STATUS_KEYS,
        "status_colours": STATUS_COLOURS,
        "attendance_keys": ATTENDANCE_KEYS,
        "work_keys": WORK_KEYS,
        "result_keys": RESULT_KEYS,
        "level_keys": LEVEL_KEYS,
        "form_keys": FORM_KEYS,
        "ground_keys": GROUND_KEYS,
        "document_keys": DOCUMENT_KEYS,
        "source_keys": SOURCE_KEYS,
        "explain_missing": _missing(_texts(request)),
        **_wording(_texts(request), ZoneInfo(where.catalogue.catalogue.timezone), request_language(request)),
        "action": request.url.path,
    }


def _computed(services: ServicesDep, user: DeskAdmin, tree_size: int | None, since: Any, until: Any) -> Computed:
    where = basis_for(services, user.person.college_id, tree_size, since, until)
    with services.sessions() as db:
        return compute(db, where)


def _refused(request: Request, user: DeskAdmin, exc: Exception) -> HTMLResponse:
    status = 404 if isinstance(exc, FootprintNotFound) else 400
    return render(request, "footprint/empty.html", {**common(user), "reason": str(exc)}, status=status)


def _weeks_chart(t: Text, weeks: list[WeekAttendance], ident: str) -> Any:
    values = [w.attended / w.classes if w.classes else None for w in weeks]
    labels = [str(w.week + 1) for w in weeks]
    said = ", ".join(
        f"{label}: {'–' if v is None else f'{round(v * 100)}%'}" for label, v in zip(labels, values, strict=True)
    )
    return weekly_bars(
        values, labels, t("footprint.chart.attendance_title"), t("footprint.chart.attendance_desc", weeks=said), ident
    )


def _limit(text: str) -> float | None:
    for part in text.replace("%", " ").split():
        try:
            return float(part)
        except ValueError:
            continue
    return None


def _gauges(t: Text, computed: Computed) -> dict[str, Any]:
    """Each programme's compliance report and a gauge of its headline share (synchronous or distance)."""
    found: dict[str, Any] = {}
    for programme in computed.index.programmes:
        report = compliance(computed, "programme", programme)
        check = next((c for c in report.checks if c.id in HEADLINE_CHECKS), None)
        caption = t("footprint.gauge.caption", limit=check.limit) if check else ""
        words = (t(RULE_KEYS[check.id][0]) if check.id in RULE_KEYS else check.title) if check else ""
        title = t("footprint.gauge.title", programme=programme, check=words)
        svg = (
            gauge(check.value, _limit(check.limit), check.status, caption, title, f"gauge-{programme}")
            if check
            else None
        )
        found[programme] = {"report": report, "check": check, "svg": svg}
    return found


@router.get("", response_class=HTMLResponse)
def overview(
    request: Request,
    services: ServicesDep,
    user: DeskAdmin,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
) -> Response:
    """The college: programmes (compliance gauge, figures), attendance over the weeks, groups, teachers."""
    try:
        computed = _computed(services, user, tree_size, since, until)
    except (FootprintNotFound, FootprintBadRequest) as exc:
        return _refused(request, user, exc)
    t = _texts(request)
    indicators = computed.indicators
    totals: list[list[int]] = []
    for programme in indicators.programmes.values():
        for week in programme.summary.weeks:
            while len(totals) <= week.week:
                totals.append([0, 0])
            totals[week.week][0] += week.classes
            totals[week.week][1] += week.attended
    weeks = [WeekAttendance(n, total, came) for n, (total, came) in enumerate(totals)]
    episodes = computed.index.catalogue.episodes
    bundles = [f"{kind}/{p}" for p in computed.index.programmes for kind in ("compliance/programmes", "programmes")]
    bundles += [f"groups/{g}" for g in computed.index.groups] + [f"teachers/{t}" for t in computed.index.teachers]
    values = {
        **_frame(request, services, user, computed.basis, bundles),
        "programmes": list(indicators.programmes.values()),
        "groups": list(indicators.groups.values()),
        "teachers": list(indicators.teachers.values()),
        "gauges": _gauges(t, computed),
        "weeks": weeks,
        "weeks_chart": _weeks_chart(t, weeks, "weeks"),
        "weather_days": sorted(
            {e.start.astimezone(computed.index.zone).date() for e in episodes if e.ground == "weather"}
        ),
        "counted": indicators.counted,
        "exports": ("learners", "groups", "programmes", "teachers", "compliance"),
    }
    return render(request, "footprint/overview.html", values)


@router.get("/groups/{group_id}", response_class=HTMLResponse)
def group_page(
    request: Request,
    group_id: str,
    services: ServicesDep,
    user: DeskAdmin,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
) -> Response:
    """A group: its figures, attendance over the weeks, its compliance checks and episodes, its learners."""
    try:
        computed = _computed(services, user, tree_size, since, until)
        group = computed.indicators.groups.get(group_id)
        if group is None:
            raise FootprintNotFound(f"no group {group_id} in catalogue version {computed.basis.catalogue.version}")
        report = compliance(computed, "group", group_id)
    except (FootprintNotFound, FootprintBadRequest) as exc:
        return _refused(request, user, exc)
    values = {
        **_frame(request, services, user, computed.basis, [f"groups/{group_id}", f"compliance/groups/{group_id}"]),
        "group": group,
        "report": report,
        "timetable_disagrees": _disagreements(report.checks),
        "weeks_chart": _weeks_chart(_texts(request), group.summary.weeks, "group-weeks"),
    }
    return render(request, "footprint/group.html", values)


def _disagreements(checks: list[CheckResult]) -> list[dict[str, Any]]:
    """The disciplines whose timetable disagrees with the curriculum, as the report's checks list them (once each)."""
    found = {item["discipline"]: item for check in checks for item in check.details.get("disagreements", [])}
    return list(found.values())


def _marks(t: Text, learner: LearnerIndicators, since: int) -> list[Mark]:
    def day(text: str | None) -> float:
        moment = datetime.fromisoformat((text or "").replace("Z", "+00:00"))
        return (moment.timestamp() - since) / 86400

    marks = [
        Mark(day(c.start), 0, ATTENDANCE_COLOURS[c.status], f"{c.class_id}: {t(ATTENDANCE_KEYS[c.status])}")
        for c in learner.attendance.classes
    ]
    marks += [
        Mark(day(a.submitted or a.due), 1, WORK_COLOURS[a.status], f"{a.assignment}: {t(WORK_KEYS[a.status])}")
        for a in learner.assignments
        if a.status != "pending"
    ]
    marks += [
        Mark(
            day(a.at),
            2,
            STATUS_COLOURS["pass" if a.result in ("confirmed", "passed") else "fail"],
            f"{a.discipline}: {t(RESULT_KEYS[a.result or ''])}",
        )
        for a in learner.attestations
    ]
    return [m for m in marks if m.day >= 0]


@router.get("/learners/{learner_id}", response_class=HTMLResponse)
def learner_page(
    request: Request,
    learner_id: str,
    services: ServicesDep,
    user: DeskAdmin,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
) -> Response:
    """A learner: the timeline of the period and every indicator, computed from that learner's statements only."""
    try:
        where = basis_for(services, user.person.college_id, tree_size, since, until)
        with services.sessions() as db:
            learner, own = one_learner(db, where, learner_id)
    except (FootprintNotFound, FootprintBadRequest) as exc:
        return _refused(request, user, exc)
    record_access(services, user.person.college_id, Actor.desk(user.person), "footprint_report", learner_id, request)
    t = _texts(request)
    index = index_of(where.catalogue)
    report = learner_report(index, learner_id, where.period, {})  # its distance share needs no class held or not
    days = max(1.0, (where.period.until - where.period.since) / 86400)
    rows = [t("footprint.timeline.classes"), t("footprint.timeline.assignments"), t("footprint.timeline.attestation")]
    chart = timeline(
        rows,
        _marks(t, learner, where.period.since),
        learner.logins.per_week,
        days,
        t("footprint.timeline.title", name=learner.name),
        t(
            "footprint.timeline.desc",
            logins=learner.logins.logins,
            classes=len(learner.attendance.classes),
            assignments=len(learner.assignments),
        ),
    )
    values = {
        **_frame(request, services, user, where, [f"learners/{learner_id}", f"compliance/learners/{learner_id}"]),
        "learner": learner,
        "summary": learner_summary(learner),
        "distance": next((c for c in report.checks if c.id == "tvet.distance_share"), None),
        "episodes": report.episodes if any(e["learner"] == learner_id for e in report.episodes) else [],
        "timeline": chart,
        "counted": counted(own),
    }
    return render(request, "footprint/learner.html", values)


@router.get("/weather/{day}", response_class=HTMLResponse)
def weather_page(
    request: Request, day: date, services: ServicesDep, user: DeskAdmin, tree_size: TreeSize = None
) -> Response:
    """An adverse-weather day: every class moved online, learners connected, absentees, work handed in later."""
    try:
        computed = _computed(services, user, tree_size, None, None)
        report = weather(computed, day)
    except (FootprintNotFound, FootprintBadRequest) as exc:
        return _refused(request, user, exc)
    people = [*computed.index.catalogue.learners, *computed.index.catalogue.teachers]
    values = {
        **_frame(request, services, user, computed.basis, [f"weather-days/{day.isoformat()}"], period=False),
        "report": report,
        "day": day,
        "names": {person.id: person.name for person in people},
    }
    return render(request, "footprint/weather.html", values)


@router.get("/export/{table}.csv")
def export(
    table: Export,
    services: ServicesDep,
    user: DeskAdmin,
    tree_size: TreeSize = None,
    since: Since = None,
    until: Until = None,
) -> Response:
    """One of the overview's tables as CSV, with the checkpoint it was computed at in comment lines."""
    with footprint_errors():
        computed = _computed(services, user, tree_size, since, until)
    rows: list[dict[str, Any]]
    if table == "learners":
        rows = [jsonable(learner_summary(item)) for item in computed.indicators.learners.values()]
    elif table == "compliance":
        rows = [
            {"programme": programme, **{k: v for k, v in jsonable(check).items() if k != "details"}}
            for programme in computed.index.programmes
            for check in compliance(computed, "programme", programme).checks
        ]
    else:
        found: dict[str, Any] = {
            "groups": computed.indicators.groups,
            "programmes": computed.indicators.programmes,
            "teachers": computed.indicators.teachers,
        }
        rows = []
        for item in found[table].values():
            row = jsonable(item)
            for bulky in ("members", "classes"):
                row.pop(bulky, None)
            if "summary" in row:
                row["summary"].pop("weeks", None)
            rows.append(row)
    return Response(
        to_csv(rows, computed.basis.to_json()), media_type="text/csv; charset=utf-8", headers=download(f"{table}.csv")
    )
