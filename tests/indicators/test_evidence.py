"""Evidence for every kind of report, on SQLite and PostgreSQL: a learner's, group's, programme's and teacher's
indicators, a learner's, group's and programme's compliance and the adverse-weather day each come as a bundle
whose figures are the API's own and which `footprint verify report` proves offline; a leaf that is no statement,
another college's statement or other rule tables are caught."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from footprint.accounts import ALL_SCOPES, bootstrap, issue_key_for
from footprint.cli import cli
from footprint.semester.college import build_college
from footprint.semester.feed import feed
from footprint.semester.plan import SemesterPlan
from footprint.store import make_engine, make_session_factory
from tests.indicators.helpers import SITE, at, base_catalogue, user
from web.app import create_app
from web.footprint_demo import proctoring_sink
from web.services import build_services
from web.settings import Settings

KEY = "footprint-evidence-key-0123456789"
API = "/api/v1/footprint"
PLAN = SemesterPlan(learners=6, group_size=3, weeks=6, views_per_session=1)
BASIS = {"checkpoint", "indicatorVersion", "rules", "catalogue", "period", "counted"}


@pytest.fixture
def client(tmp_path: Path, db_url: str) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(
        data_dir=tmp_path, database_url=db_url, bootstrap_api_key=KEY, checkpoint_interval_s=3600, log_level="WARNING"
    )
    services = build_services(settings)
    try:
        with services.writing() as db:
            credential = bootstrap(db, KEY)
        assert credential is not None
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {KEY}"}) as test_client:
            sink = proctoring_sink(services, credential.college_id)
            feed(test_client, build_college(PLAN), credential.college_id, sink)
            yield test_client, settings
    finally:
        services.engine.dispose()


def test_every_report_comes_with_evidence_the_verifier_proves_and_equal_to_the_apis(
    client: tuple[TestClient, Settings], tmp_path: Path
) -> None:
    http, settings = client
    other = _other_college(http, settings)  # its statements go into the log too: one log for the platform
    size = int(http.get("/ledger/checkpoint").text.split("\n")[1])
    end = datetime.combine(PLAN.start + timedelta(weeks=PLAN.weeks), datetime.min.time(), UTC).isoformat()
    period = {"until": end}
    key = tmp_path / "ledger.pub"
    key.write_text(http.get("/ledger/public-key").text)

    def verify(bundle: dict[str, Any], name: str) -> tuple[int, str]:
        path = tmp_path / name
        path.write_text(json.dumps(bundle))
        result = CliRunner().invoke(cli, ["verify", "report", "--bundle", str(path), "--public-key", str(key)])
        return result.exit_code, result.output

    college = build_college(PLAN)
    assert college.weather_day is not None
    day = college.weather_day.isoformat()
    reports = {
        "learners/S0001": "learners/S0001",
        "groups/ELEC-1": "groups/ELEC-1",
        "programmes/SOFT": "programmes/SOFT",
        "teachers/T-SD01": "teachers/T-SD01",
        "compliance/learners/S0001": "compliance/learners/S0001",
        "compliance/groups/SOFT-1": "compliance/groups/SOFT-1",
        "compliance/programmes/ELEC": "compliance/programmes/ELEC",
        f"weather-days/{day}": f"weather-days/{day}",
    }
    bundles: dict[str, dict[str, Any]] = {}
    for path, evidence in reports.items():
        shown = http.get(f"{API}/{path}", params=period if "weather" not in path else {}).json()
        bundle = http.get(f"{API}/evidence/{evidence}", params=period if "weather" not in path else {}).json()
        figures = {k: v for k, v in shown.items() if k not in BASIS or k in bundle["report"]}
        assert figures == bundle["report"], path  # the figures shown are the ones the statements prove
        assert bundle["basis"]["checkpoint"] == shown["checkpoint"] and bundle["statements"], path
        code, output = verify(bundle, f"{path.replace('/', '-')}.json")
        assert code == 0, (path, output)
        bundles[path] = bundle
    weather = bundles[f"weather-days/{day}"]["report"]
    assert weather["totals"]["classes"] > 0 and weather["totals"]["connected"] > 0
    teacher = bundles["teachers/T-SD01"]["report"]
    assert teacher["held"] > 0 and teacher["grading"]["graded"] > 0

    bundle = bundles["compliance/groups/SOFT-1"]
    catalogue_leaf = {"statement": bundle["catalogue"]["record"], "proof": bundle["catalogue"]["proof"]}
    not_a_statement = {**copy.deepcopy(bundle), "statements": [*bundle["statements"], catalogue_leaf]}
    code, output = verify(not_a_statement, "leaf.json")
    assert code == 2 and "is in the log but is not an xAPI statement" in output and "Traceback" not in output

    theirs = http.get(f"{API}/evidence/learners/S1", headers=other, params={"treeSize": size}).json()
    other_college = theirs["statements"][0]  # genuine, proven at the same checkpoint, another college's
    borrowed = {**copy.deepcopy(bundle), "statements": [*bundle["statements"], other_college]}
    code, output = verify(borrowed, "borrowed.json")
    assert code == 1 and "is not a statement of college" in output

    other_rules = copy.deepcopy(bundle)
    other_rules["basis"]["rules"]["sha256"] = "0" * 64
    code, output = verify(other_rules, "rules.json")
    assert code == 1 and "rule tables" in output


def _other_college(http: TestClient, settings: Settings) -> dict[str, str]:
    """Another college with its catalogue and a statement; its key's header."""
    engine = make_engine(settings.db_url)
    try:
        with make_session_factory(engine).begin() as db:
            issued = issue_key_for(db, "Other College", "lms", ALL_SCOPES, new_college=True)
            other = {"Authorization": f"Bearer {issued.secret}"}
    finally:
        engine.dispose()
    assert http.put(f"{API}/catalogue", json=base_catalogue(learners=1), headers=other).status_code == 201
    posted = http.post(
        "/xapi/statements",
        json=[SITE.logged_in(user(1), at(8, 9))],
        headers={**other, "X-Experience-API-Version": "1.0.3"},
    )
    assert posted.status_code == 200
    return other
