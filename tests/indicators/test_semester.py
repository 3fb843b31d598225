"""The generated semester: statements of the plugin's own shapes, deterministic, fed through the HTTP API, and its
deliberate breaches found by the compliance report; the demo seeding feeds the college once."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from footprint.accounts import bootstrap
from footprint.catalogue.store import CatalogueRow, latest_catalogue
from footprint.facts.tables import FactRow
from footprint.semester.behaviour import Semester
from footprint.semester.college import build_college
from footprint.semester.feed import PlatformSink, feed
from footprint.semester.plan import SemesterPlan
from footprint.vocabulary import Kind
from proctor.sessions.statements import SessionFacts, analysed_statement, verdict_statement
from web.app import create_app
from web.footprint_demo import proctoring_sink, seed_footprint
from web.services import build_services
from web.settings import Settings

KEY = "semester-test-key-0123456789"
FIXTURES = json.loads((Path(__file__).parent / "data" / "moodle_fixtures.json").read_text())
PLAN = SemesterPlan(learners=24, group_size=3, weeks=12, views_per_session=2)
API = "/api/v1/footprint"


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and types, not the values (names, ids and times differ)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "number"  # JSON has one number type
    return type(value).__name__


def test_generated_moodle_statements_have_the_plugins_own_shapes() -> None:
    college = build_college(PLAN)
    statements = [s for week in Semester(college, "c").weeks() for s in week.lms]

    def first(verb: str, kind: str | None = None, old: bool = False) -> dict[str, Any]:
        return next(
            s
            for s in statements
            if s["verb"]["id"] == verb
            and (kind is None or kind in s["object"]["id"])
            and ("platform" in s.get("context", {})) == old
            and ("response" in s.get("result", {}) or "scored" not in verb)  # the fixture's grade has a comment
        )

    pairs = {
        "login": first("https://xapi.edlm/profiles/edlm-lms/concepts/verbs/login"),
        "submitted": first("http://activitystrea.ms/schema/1.0/submit"),
        "graded": first("https://w3id.org/xapi/tla/verbs/scored"),
        "bbb_joined": first("http://activitystrea.ms/schema/1.0/join", "bigbluebuttonbn"),
        "quiz_submitted": first("http://adlnet.gov/expapi/verbs/completed", "attempt.php"),
    }
    for key, generated in pairs.items():
        expected = {k: v for k, v in FIXTURES["new"][key].items()}
        mine = {k: v for k, v in generated.items() if k not in ("id", "timestamp")}
        assert shape(mine) == shape(expected), key
    old_login = first("https://brindlewaye.com/xAPITerms/verbs/loggedin/", old=True)
    assert shape({k: v for k, v in old_login.items() if k != "id"}) == shape(FIXTURES["old"]["login"])


def test_generated_proctoring_statements_have_the_platforms_own_shapes() -> None:
    college = build_college(PLAN)
    weeks = list(Semester(college, "college-1").weeks())
    ours = [s for week in weeks for s in week.platform]
    assert ours and not [
        s
        for week in weeks
        for s in week.lms
        if "platform" in s.get("context", {}) and s["context"]["platform"] == "proctor-kz"
    ]
    analysed = next(s for s in ours if s["verb"]["id"].endswith("attempted"))
    decided = next(s for s in ours if s["verb"]["id"].endswith("completed"))
    facts = SessionFacts("https://p", "college-1", "exam", "Exam", "final", "session", "S1", "Name")
    assert shape(analysed) == shape(analysed_statement(facts, 1.5, {}, 3600.0, datetime.now(UTC)))
    assert shape(decided) == shape(verdict_statement(facts, "confirmed", "x@y.kz", 0, datetime.now(UTC)))


def test_the_generator_is_deterministic() -> None:
    first = next(Semester(build_college(PLAN), "c").weeks())
    again = next(Semester(build_college(PLAN), "c").weeks())
    assert [s["id"] for s in first.lms] == [s["id"] for s in again.lms] and len(first.lms) > 200


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, str, PlatformSink]]:
    settings = Settings(data_dir=tmp_path, bootstrap_api_key=KEY, checkpoint_interval_s=3600, log_level="WARNING")
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {KEY}"}) as test_client:
        services = build_services(settings)
        try:
            with services.writing() as db:
                credential = bootstrap(db, KEY)
            assert credential is not None
            yield test_client, credential.college_id, proctoring_sink(services, credential.college_id)
        finally:
            services.engine.dispose()


def test_a_fed_semester_shows_its_deliberate_breaches_and_nothing_else_fails(
    client: tuple[TestClient, str, PlatformSink],
) -> None:
    http, college_id, platform = client
    college = build_college(PLAN)
    fed = feed(http, college, college_id, platform)
    http.get("/ledger/checkpoint")
    assert fed.catalogue_version == 1 and fed.statements > 5000
    end = datetime.combine(PLAN.start + timedelta(weeks=PLAN.weeks), datetime.min.time(), UTC).isoformat()
    reports = {r["id"]: r for r in http.get(f"{API}/compliance", params={"until": end}).json()["items"]}
    assert college.breaches.keys() == {"ELEC-3", "PED-2", "SOFT-2"}
    statuses = {group: status for r in reports.values() for group, status in r["groups"].items()}
    assert {g for g, s in statuses.items() if s == "fail"} == set(college.breaches)
    failing = {
        (r["id"], c["id"], c["details"].get("group"))
        for r in reports.values()
        for c in r["checks"]
        if c["status"] == "fail"
    }
    assert failing == {
        ("ELEC", "tvet.distance_share", "ELEC-3"),
        ("ELEC", "tvet.approved_list", "ELEC-3"),
        ("ELEC", "tvet.episode_grounds", "ELEC-3"),
        ("PED", "tvet.forbidden_fields", "PED-2"),
        ("PED", "tvet.approved_list", "PED-2"),
        ("SOFT", "tvet.synchronous_share", "SOFT-2"),
    }
    elec = http.get(f"{API}/compliance/groups/ELEC-1", params={"until": end}).json()
    share = next(c for c in elec["checks"] if c["id"] == "tvet.distance_share")
    assert [n["grounds"] for n in share["details"]["not_counted"]] == [["medical"], ["competition"]]
    assert college.weather_day is not None
    weather = http.get(f"{API}/weather-days/{college.weather_day.isoformat()}").json()
    assert weather["totals"]["classes"] > 0 and weather["totals"]["connected"] > 0
    learners = http.get(f"{API}/learners", params={"until": end, "limit": 200}).json()["items"]
    assert len(learners) == 24 and max(row["mastery_share"] for row in learners) > 0
    assert all(row["logins_per_week"] > 0 for row in learners)


def test_the_demo_is_seeded_once_through_the_http_api(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, bootstrap_api_key=KEY, checkpoint_interval_s=3600, log_level="WARNING")
    services = build_services(settings)
    try:
        with services.writing() as db:
            credential = bootstrap(db, KEY)
        assert credential is not None
        plan = SemesterPlan(learners=4, weeks=2, views_per_session=1, start=date(2026, 9, 7))
        told = seed_footprint(services, credential, KEY, plan)
        assert "2-week semester of 4 learners" in told and "/desk/footprint/" in told
        again = seed_footprint(services, credential, KEY, plan)
        assert "already there" in again
        with services.sessions() as db:
            assert len(db.scalars(select(CatalogueRow.version)).all()) == 1
            assert services.ledger.size(db) > 100
    finally:
        services.engine.dispose()


class CutShort:
    """A connection to the platform that drops after `posts` batches of statements (a test double of the network)."""

    def __init__(self, client: TestClient, posts: int) -> None:
        self.client, self.posts = client, posts

    def put(self, url: str, *, content: str) -> Any:
        return self.client.put(url, content=content)

    def post(self, url: str, *, json: Any, headers: Mapping[str, str]) -> Any:
        if self.posts == 0:
            raise httpx.ConnectError("the connection dropped")
        self.posts -= 1
        return self.client.post(url, json=json, headers=headers)


def test_a_demo_feed_cut_short_leaves_no_catalogue_and_is_seeded_again(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, bootstrap_api_key=KEY, checkpoint_interval_s=3600, log_level="WARNING")
    services = build_services(settings)
    try:
        with services.writing() as db:
            credential = bootstrap(db, KEY)
        assert credential is not None
        plan = SemesterPlan(learners=4, weeks=2, views_per_session=1, start=date(2026, 9, 7))
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {KEY}"}) as http:
            with pytest.raises(httpx.ConnectError):
                feed(
                    CutShort(http, 1),
                    build_college(plan),
                    credential.college_id,
                    proctoring_sink(services, credential.college_id),
                )
        with services.sessions() as db:
            assert latest_catalogue(db, credential.college_id) is None  # the first week's statements only
            assert services.ledger.size(db) > 0
        told = seed_footprint(services, credential, KEY, plan)
        assert "2-week semester of 4 learners" in told  # not "already there": seeded again, to the end
        with services.sessions() as db:
            catalogue = latest_catalogue(db, credential.college_id)
            assert catalogue is not None and catalogue.version == 1
            attestations = db.scalars(select(FactRow.kind).where(FactRow.kind == Kind.VERDICT)).all()
        assert len(attestations) > 0  # the last week's proctored attestations are in
    finally:
        services.engine.dispose()
