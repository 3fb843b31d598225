"""Operating the platform: health and readiness for a load balancer, the node's name on every answer, the pin
cookie of a live session's page, metrics of the job queue and the ledger, and re-analysis over the API
(a new run; another college's key gets 404)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from footprint.ledger.tables import HeadRow
from proctor.decode import probe
from proctor.sessions.tables import EventRow
from tests.college.test_college_api import KEY, auth, enrol, other_college_key, upload
from tests.fixtures.scenarios import Scenario
from tests.pg import PostgresServer
from web.app import create_app
from web.live.pinning import PIN_COOKIE, pin_of
from web.settings import Settings, load_settings


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings({}, data_dir=tmp_path / "data", database_url=db_url, bootstrap_api_key=KEY, port=8123)


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def samples(client: TestClient) -> dict[str, float]:
    """Every sample of /metrics by name and labels (`name{label="value"}`)."""
    found = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


def wait_for_analysis(client: TestClient, session_id: str) -> None:
    """Until the session's queued or running analysis is finished (bounded)."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if client.get(f"/api/v1/sessions/{session_id}", headers=auth()).json()["analysis"] in ("done", "failed"):
            break
        time.sleep(0.3)
    assert client.get(f"/api/v1/sessions/{session_id}", headers=auth()).json()["analysis"] == "done"


def test_health_and_readiness_name_the_node(app_client: TestClient, settings: Settings) -> None:
    assert settings.node == f"{socket.gethostname()}:8123"
    health = app_client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok", "node": settings.node}
    ready = app_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "node": settings.node, "checks": {"database": "ok", "workers": "ok"}}
    for answer in (health, ready, app_client.get("/api/v1/exams", headers=auth()), app_client.get("/nowhere")):
        assert answer.headers["x-proctor-node"] == settings.node


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_not_ready_while_the_database_is_away(
    app_client: TestClient, postgres_server: PostgresServer, db_url: str
) -> None:
    name = make_url(db_url).database
    admin = create_engine(postgres_server.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        away = app_client.get("/readyz")
        assert away.status_code == 503
        assert away.json()["checks"] == {"database": "unreachable", "workers": "ok"}
        assert app_client.get("/healthz").status_code == 200  # alive, only not ready: the balancer routes around it
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    assert app_client.get("/readyz").status_code == 200


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_page_of_a_live_session_carries_its_pin(app_client: TestClient, demo: Scenario) -> None:
    exam_id, candidate_id, _ = enrol(app_client, demo)
    made = app_client.post(f"/api/v1/exams/{exam_id}/sessions", json={"candidate_id": candidate_id}, headers=auth())
    token = made.json()["join_url"].rsplit("/", 1)[1]
    page = app_client.get(f"/join/{token}")
    assert page.status_code == 200
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{PIN_COOKIE}={pin_of(token)};")
    assert "Path=/live" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert len(pin_of(token)) == 16 and token not in cookie
    assert PIN_COOKIE not in app_client.get("/join/not-a-session-token").headers.get("set-cookie", "")


@pytest.mark.slow
def test_reanalysis_is_a_new_run_and_the_metrics_count_it(
    app_client: TestClient, demo: Scenario, media: Path, db_url: str
) -> None:
    exam_id, _, session_id = enrol(app_client, demo)
    assert upload(app_client, session_id, media / "face_noface.mov").status_code == 202
    wait_for_analysis(app_client, session_id)
    first = app_client.get(f"/api/v1/sessions/{session_id}/events", headers=auth()).json()
    assert first  # the seat empties in this recording

    other = {"Authorization": f"Bearer {other_college_key(db_url)}"}
    assert app_client.post(f"/api/v1/sessions/{session_id}/analysis", headers=other).status_code == 404
    assert app_client.post(f"/api/v1/exams/{exam_id}/analysis", headers=other).status_code == 404
    again = app_client.post(f"/api/v1/sessions/{session_id}/analysis", headers=auth())
    assert again.status_code == 202 and again.json()["analysis"] in ("queued", "running")
    wait_for_analysis(app_client, session_id)
    bulk = app_client.post(f"/api/v1/exams/{exam_id}/analysis", headers=auth())
    assert bulk.status_code == 202 and bulk.json() == {"exam_id": exam_id, "queued": [session_id], "skipped": 0}
    wait_for_analysis(app_client, session_id)
    latest = app_client.get(f"/api/v1/sessions/{session_id}/events", headers=auth()).json()
    strip = [{k: v for k, v in e.items() if k != "evidence_url"} for e in first]
    assert [{k: v for k, v in e.items() if k != "evidence_url"} for e in latest] == strip  # same file, same events

    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            runs = connection.execute(
                select(EventRow.analysis_run, func.count())
                .where(EventRow.session_id == session_id)
                .group_by(EventRow.analysis_run)
            ).all()
            ledger_size = connection.execute(select(HeadRow.size)).scalar_one()
    finally:
        engine.dispose()
    assert dict(runs) == {1: len(first), 2: len(first), 3: len(first)}  # earlier runs stay as they were

    app_client.post(
        f"/api/v1/sessions/{session_id}/verdict", json={"verdict": "confirmed", "examiner": "E"}, headers=auth()
    )
    assert app_client.post(f"/api/v1/sessions/{session_id}/analysis", headers=auth()).status_code == 409
    assert app_client.get("/ledger/checkpoint").status_code == 200  # signs one now
    metrics = samples(app_client)
    assert metrics['proctor_jobs{state="done"}'] == 1 and metrics['proctor_jobs{state="queued"}'] == 0
    assert metrics['proctor_analysis_jobs_total{outcome="done"}'] == 3
    recorded = probe(media / "face_noface.mov").duration_s
    assert metrics["proctor_analysis_recorded_seconds_total"] == pytest.approx(3 * recorded, abs=0.1)
    assert metrics["proctor_analysis_seconds_count"] == 3 and metrics["proctor_analysis_running"] == 0
    assert metrics["proctor_ledger_size"] >= ledger_size  # the verdict came after
    assert 0 <= metrics["proctor_checkpoint_age_seconds"]
