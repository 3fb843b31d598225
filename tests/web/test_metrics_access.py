"""`/metrics` only for the operators' scraper: from an allowed network (default: this machine, as a real server
on 127.0.0.1 sees it) or with the metrics token; anyone else gets 403 saying how to allow it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.servers import LiveServer, free_port
from web.app import create_app
from web.metrics import from_allowed_network
from web.settings import Settings, SettingsError, load_settings

TOKEN = "scraper-token-0123456789"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The app with a metrics token; the test client's address (`testclient`) is in no network."""
    settings = Settings(data_dir=tmp_path, checkpoint_interval_s=3600, metrics_token=TOKEN)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_the_token_lets_a_scraper_in_from_anywhere(client: TestClient) -> None:
    for authorization in (f"Bearer {TOKEN}", f"bearer {TOKEN}"):
        answer = client.get("/metrics", headers={"Authorization": authorization})
        assert answer.status_code == 200 and "proctor_live_sessions 0.0" in answer.text
    for refused in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": f"Basic {TOKEN}"}):
        answer = client.get("/metrics", headers=refused)
        assert answer.status_code == 403
        error = answer.json()["error"]
        assert error["code"] == "forbidden" and error["details"] is None
        assert "PROCTOR_METRICS_ALLOW_NETWORKS" in error["message"] and "PROCTOR_METRICS_TOKEN" in error["message"]
        assert "proctor_" not in answer.text


def test_without_a_token_only_the_allowed_networks_read_them(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, checkpoint_interval_s=3600, port=free_port())
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics", headers={"Authorization": "Bearer anything-at-all-0123"}).status_code == 403
    with LiveServer(settings) as local:  # a real server: its client is 127.0.0.1, in the default networks
        assert httpx.get(f"{local.url}/metrics", timeout=30).status_code == 200
    elsewhere = settings.model_copy(update={"metrics_allow_networks": "10.0.0.0/8", "port": free_port()})
    with LiveServer(elsewhere) as server:
        answer = httpx.get(f"{server.url}/metrics", timeout=30)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"


def test_addresses_are_matched_by_network() -> None:
    settings = load_settings({"PROCTOR_METRICS_ALLOW_NETWORKS": "10.20.0.0/16, fd00::/8"})
    assert from_allowed_network("10.20.3.4", settings) and from_allowed_network("fd00::7", settings)
    assert from_allowed_network("::ffff:10.20.3.4", settings)  # an IPv4 client on a dual-stack socket
    assert not from_allowed_network("10.21.0.1", settings) and not from_allowed_network("127.0.0.1", settings)
    assert not from_allowed_network("testclient", settings) and not from_allowed_network(None, settings)
    default = load_settings({})
    assert from_allowed_network("127.0.0.1", default) and from_allowed_network("::1", default)
    assert not from_allowed_network("127.0.0.2", default)
    assert load_settings({"PROCTOR_METRICS_ALLOW_NETWORKS": ""}).metrics_networks == ()


def test_wrong_metrics_settings_stop_the_start() -> None:
    for bad in ("10.0.0.1/8", "localhost", "10.0.0.0/33"):
        with pytest.raises(SettingsError, match="PROCTOR_METRICS_ALLOW_NETWORKS"):
            load_settings({"PROCTOR_METRICS_ALLOW_NETWORKS": bad})
    for bad in ("short", "has a space in it 0123"):
        with pytest.raises(SettingsError, match="PROCTOR_METRICS_TOKEN"):
            load_settings({"PROCTOR_METRICS_TOKEN": bad})
