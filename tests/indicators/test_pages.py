"""The desk's footprint pages over HTTP: only a college's signed-in admins see them (anonymous visitors, API keys
and examiners get 403), each page names its checkpoint and how to verify it, in the chosen language, and the
CSV exports carry the same figures as the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from footprint.accounts import ALL_SCOPES, bootstrap, issue_key_for
from footprint.people import Role, add_person
from footprint.semester.college import build_college
from footprint.semester.feed import feed
from footprint.semester.plan import SemesterPlan
from tests.desk.desk_client import HTML, sign_in
from tests.indicators.helpers import SITE, at, base_catalogue, user
from web.app import create_app
from web.footprint_demo import proctoring_sink
from web.services import build_services
from web.settings import Settings

KEY = "footprint-pages-key-0123456789"
PASSWORD = "a long enough password"
PLAN = SemesterPlan(learners=24, group_size=3, weeks=8, views_per_session=1)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Settings, str]]:
    """The platform with the first college's semester fed; the second college's admin and LMS key, no catalogue."""
    settings = Settings(data_dir=tmp_path, bootstrap_api_key=KEY, checkpoint_interval_s=3600, log_level="WARNING")
    services = build_services(settings)
    try:
        with services.writing() as db:
            credential = bootstrap(db, KEY)
            assert credential is not None
            add_person(db, credential.college_id, "admin@college.kz", "Admin", Role.ADMIN, PASSWORD)
            add_person(db, credential.college_id, "examiner@college.kz", "Examiner", Role.EXAMINER, PASSWORD)
            other = issue_key_for(db, "Other College", "lms", ALL_SCOPES, new_college=True)
            add_person(db, other.credential.college_id, "admin@other.kz", "Other Admin", Role.ADMIN, PASSWORD)
        with TestClient(create_app(settings)) as test_client:
            feed(
                with_key(test_client),
                build_college(PLAN),
                credential.college_id,
                proctoring_sink(services, credential.college_id),
            )
            test_client.get("/ledger/checkpoint")
            yield test_client, settings, other.secret
    finally:
        services.engine.dispose()


def with_key(client: TestClient) -> TestClient:
    client.headers["Authorization"] = f"Bearer {KEY}"
    return client


def test_footprint_pages_for_admins_only_naming_their_checkpoint_in_each_language(
    client: tuple[TestClient, Settings, str],
) -> None:
    http, _settings, other_key = client
    assert http.get("/desk/footprint", headers=HTML).status_code == 403  # an API key is no desk sign-in
    del http.headers["Authorization"]
    assert http.get("/desk/footprint", headers=HTML).status_code == 403
    sign_in(http, "examiner@college.kz", PASSWORD)
    assert http.get("/desk/footprint", headers=HTML).status_code == 403
    http.cookies.clear()
    sign_in(http, "admin@college.kz", PASSWORD)
    until = datetime.combine(PLAN.start + timedelta(weeks=PLAN.weeks), datetime.min.time(), UTC).date().isoformat()
    page = http.get("/desk/footprint", params={"lang": "en", "until": until}, headers=HTML)
    assert page.status_code == 200, page.text
    text = page.text
    assert "Computed at a signed checkpoint" in text
    assert "footprint verify report --bundle evidence-compliance-programmes-ELEC.json --public-key ledger.pub" in text
    assert text.count('<svg class="chart"') == 5  # a gauge per programme and the weeks' attendance
    assert "annex 2 §5" in text and "ELEC-3" in text and 'class="badge badge-fail"' in text
    assert "/api/v1/footprint/evidence/compliance/programmes/ELEC?treeSize=" in text
    assert "<code>http://id.tincanapi.com/verb/replied</code>" in text  # the forum posts: a verb outside the vocabulary
    russian = http.get("/desk/footprint/groups/SOFT-2", params={"lang": "ru", "until": until}, headers=HTML)
    assert (
        russian.status_code == 200 and "Нарушение" in russian.text and "Посещаемость синхронных занятий" in russian.text
    )
    assert "прогноз по всему учебному плану" in russian.text and "по расписанию этого периода" in russian.text
    learner = http.get("/desk/footprint/learners/S0001", params={"lang": "kk", "until": until}, headers=HTML)
    assert learner.status_code == 200 and "Кезең хронологиясы" in learner.text and 'id="timeline-title"' in learner.text
    assert "/api/v1/footprint/evidence/learners/S0001?treeSize=" in learner.text  # the bundles of what it shows
    assert "/api/v1/footprint/evidence/compliance/learners/S0001?treeSize=" in learner.text
    seen = http.get("/api/v1/access", params={"what": "footprint_report"}, headers={"Authorization": f"Bearer {KEY}"})
    assert [(r["actor_kind"], r["object"]) for r in seen.json()["items"]] == [("person", "S0001")]  # who saw whom
    group = http.get("/desk/footprint/groups/SOFT-2", params={"lang": "en", "until": until}, headers=HTML).text
    assert "evidence/groups/SOFT-2?treeSize=" in group and "evidence/compliance/groups/SOFT-2?treeSize=" in group
    assert "/api/v1/footprint/evidence/programmes/ELEC?treeSize=" in text and "evidence/teachers/T-EL01?" in text
    college = build_college(PLAN)
    assert college.weather_day is not None
    weather = http.get(
        f"/desk/footprint/weather/{college.weather_day.isoformat()}", params={"lang": "en"}, headers=HTML
    )
    assert (
        weather.status_code == 200
        and "Classes moved online" in weather.text
        and "head&#39;s order № 112-Ө" in weather.text
    )
    assert f"/api/v1/footprint/evidence/weather-days/{college.weather_day.isoformat()}?treeSize=" in weather.text
    assert http.get("/desk/footprint/learners/S9999", headers=HTML).status_code == 404
    exported = http.get("/desk/footprint/export/learners.csv", params={"until": until})
    assert exported.status_code == 200 and exported.text.count("\nS0") == 24
    refused = http.get("/desk/footprint", params={"lang": "en", "since": "0001-01-01"}, headers=HTML)
    assert refused.status_code == 400 and "since must lie in the years 2000–2100" in refused.text
    http.cookies.clear()
    sign_in(http, "admin@other.kz", PASSWORD)
    empty = http.get("/desk/footprint", params={"lang": "en"}, headers=HTML)
    assert empty.status_code == 404 and "had imported no catalogue" in empty.text  # none of the first college's
    assert http.get("/desk/footprint/groups/ELEC-1", headers=HTML).status_code == 404
    theirs = base_catalogue(learners=1)  # the same ids as the first college's: a group ELEC-1, a learner S0001
    theirs["groups"][0]["id"] = "ELEC-1"
    theirs["learners"][0].update(id="S0001", name="Other Learner", group="ELEC-1")
    key = {"Authorization": f"Bearer {other_key}"}
    assert http.put("/api/v1/footprint/catalogue", json=theirs, headers=key).status_code == 201
    xapi = {**key, "X-Experience-API-Version": "1.0.3"}
    assert http.post("/xapi/statements", json=[SITE.logged_in(user(1), at(8, 10))], headers=xapi).status_code == 200
    http.get("/ledger/checkpoint")
    since = {"since": at(7, 0).isoformat(), "until": at(14, 0).isoformat(), "lang": "en"}
    mine = http.get("/desk/footprint/learners/S0001", params=since, headers=HTML)
    assert mine.status_code == 200 and "Other Learner" in mine.text and "Айгерім" not in mine.text
    group = http.get("/desk/footprint/groups/ELEC-1", params=since, headers=HTML)
    assert group.status_code == 200 and group.text.count('href="/desk/footprint/learners/') == 1
    assert 'data-discipline="EM1"' in group.text  # its timetable holds none of the curriculum's 100 hours
    assert http.get("/desk/footprint/groups/SOFT-2", headers=HTML).status_code == 404  # the first college's
    exported = http.get("/desk/footprint/export/learners.csv", params=since)
    assert exported.text.count("\nS0") == 1 and "Other Learner" in exported.text
