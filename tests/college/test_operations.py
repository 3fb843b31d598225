"""Operating the platform: health and readiness for a load balancer, the node's name only when asked for, a
node that starts and serves while its Ray cluster is away, the pin cookie of a live session's page,
metrics of the job queue and the ledger, and re-analysis over the API (a new run; another college's key
gets 404)."""

from __future__ import annotations

import hashlib
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

from deploy.processes import service_port
from footprint.ledger.tables import HeadRow
from proctor.decode import probe
from proctor.sessions.tables import EventRow, SessionRow
from tests.college.test_college_api import KEY, auth, enrol, other_college_key, upload
from tests.fixtures.scenarios import Scenario
from tests.pg import PostgresServer
from web.app import create_app
from web.live.pinning import PIN_COOKIE, pin_of
from web.settings import Settings, load_settings

SCRAPER = "metrics-scraper-token-0123"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        {}, data_dir=tmp_path / "data", database_url=db_url, bootstrap_api_key=KEY, port=8123, metrics_token=SCRAPER
    )


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def samples(client: TestClient) -> dict[str, float]:
    """Every sample of /metrics by name and labels (`name{label="value"}`)."""
    found = {}
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPER}"})  # the test client is no address
    for family in text_string_to_metric_families(scraped.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


def wait_for_analysis(client: TestClient, session_id: str) -> None:
    """Until the session's queued or running analysis is finished (bounded), and the node's worker has counted it:
    the API says done once the result is kept, a moment before the worker's thread adds it to what /metrics says."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if client.get(f"/api/v1/sessions/{session_id}", headers=auth()).json()["analysis"] in ("done", "failed"):
            break
        time.sleep(0.3)
    assert client.get(f"/api/v1/sessions/{session_id}", headers=auth()).json()["analysis"] == "done"
    assert client.app_state["platform"].worker.wait_idle(timeout=240)  # its dispatcher is done with the job


def test_health_and_readiness_keep_the_node_to_themselves(app_client: TestClient, settings: Settings) -> None:
    made_from = f"{socket.gethostname()}:8123".encode()
    assert settings.node == "node-" + hashlib.sha256(b"proctor-node:" + made_from).hexdigest()[:10]
    assert socket.gethostname() not in settings.node  # the default name does not reveal the machine
    health = app_client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = app_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "workers": "ok"}}
    live = app_client.get("/readyz/live")
    assert live.status_code == 200 and live.json() == {"status": "ready", "checks": {"database": "ok"}}
    for answer in (health, ready, live, app_client.get("/api/v1/exams", headers=auth()), app_client.get("/nowhere")):
        assert "x-proctor-node" not in answer.headers and settings.node not in answer.text


def test_an_exposed_node_names_itself_on_every_answer(db_url: str, tmp_path: Path) -> None:
    settings = load_settings(
        {}, data_dir=tmp_path / "data", database_url=db_url, bootstrap_api_key=KEY, node_id="node-7", expose_node=True
    )
    with TestClient(create_app(settings)) as client:
        health, ready = client.get("/healthz"), client.get("/readyz")
        assert health.json() == {"status": "ok", "node": "node-7"}
        assert ready.json() == {"status": "ready", "node": "node-7", "checks": {"database": "ok", "workers": "ok"}}
        for answer in (health, ready, client.get("/api/v1/exams", headers=auth()), client.get("/nowhere")):
            assert answer.headers["x-proctor-node"] == "node-7"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_node_starts_and_serves_while_its_ray_cluster_is_away(
    db_url: str, tmp_path: Path, demo: Scenario, media: Path
) -> None:
    away = f"127.0.0.1:{service_port()}"  # nothing listens there: the Ray head is down
    settings = load_settings(
        {}, data_dir=tmp_path / "data", database_url=db_url, bootstrap_api_key=KEY, ray_address=away
    )
    with TestClient(create_app(settings)) as client:  # starts: nothing waits for Ray
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 200  # still in the balancer: uploads are queued in the database
        assert ready.json() == {"status": "degraded", "checks": {"database": "ok", "workers": "unavailable"}}
        assert client.get("/readyz/live").status_code == 200
        _, _, session_id = enrol(client, demo)
        assert upload(client, session_id, media / "single_face.mp4").status_code == 202
        answer = client.get(f"/api/v1/sessions/{session_id}", headers=auth())
        assert answer.status_code == 200 and answer.json()["analysis"] == "queued"
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            row = connection.execute(select(SessionRow.job_state, SessionRow.job_attempts)).one()
    finally:
        engine.dispose()
    assert tuple(row) == ("queued", 0)  # never started on a cluster that was not there: no start counted


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
        assert away.json() == {"status": "not ready", "checks": {"database": "unreachable", "workers": "ok"}}
        assert app_client.get("/readyz/live").status_code == 503
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
    pin = hashlib.sha256(f"proctor-pin:{token}".encode()).hexdigest()[:16]  # the pin, as HAProxy makes it
    assert pin_of(token) == pin and cookie.startswith(f"{PIN_COOKIE}={pin};")
    assert "Path=/live" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert token not in cookie
    stored = hashlib.sha256(token.encode()).hexdigest()  # the join token's hash the database keeps
    assert not stored.startswith(pin)  # the database does not hold the pin: it is made from another input
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
