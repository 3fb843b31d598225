"""`PUT /api/v1/webhook` through the real app: a URL that reaches inside the server's network is refused
with 422 and the reason, in every spelling, unless the operator allowed that network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.outbound import INSIDE_HOSTS
from web.app import create_app
from web.settings import load_settings

KEY = "bootstrap-key-for-the-webhook-college"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _client(tmp_path: Path, **environ: str) -> TestClient:
    settings = load_settings(
        environ, data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'p.db'}", bootstrap_api_key=KEY
    )
    return TestClient(create_app(settings))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with _client(tmp_path) as test_client:
        yield test_client


def test_every_spelling_of_an_inside_address_is_refused(client: TestClient) -> None:
    answers = {
        host: client.put("/api/v1/webhook", json={"url": f"http://{host}:8000/metrics"}, headers=AUTH)
        for host, _ in INSIDE_HOSTS
    }
    wrong = {
        host: (answer.status_code, answer.text)
        for (host, kind), answer in zip(INSIDE_HOSTS, answers.values(), strict=True)
        if answer.status_code != 422 or kind not in answer.json()["error"]["message"]
    }
    assert wrong == {}
    error = answers["169.254.169.254"].json()["error"]
    assert error["code"] == "unprocessable"
    assert error["message"] == "webhook host is 169.254.169.254, a link-local address"
    assert answers["0x7f000001"].json()["error"]["message"] == "webhook host is 127.0.0.1, a loopback address"


def test_urls_with_a_password_or_another_scheme_are_refused(client: TestClient) -> None:
    answer = client.put("/api/v1/webhook", json={"url": "http://lms:secret@93.184.215.14/hook"}, headers=AUTH)
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == "webhook URL must not hold a user name or password"
    assert client.put("/api/v1/webhook", json={"url": "file:///etc/passwd"}, headers=AUTH).status_code == 400


def test_the_operator_allows_an_internal_receiver(tmp_path: Path) -> None:
    with _client(tmp_path, PROCTOR_OUTBOUND_ALLOW_NETWORKS="127.0.0.0/8") as client:
        allowed = client.put("/api/v1/webhook", json={"url": "http://127.0.0.1:9000/hook"}, headers=AUTH)
        assert allowed.status_code == 200 and allowed.json()["url"] == "http://127.0.0.1:9000/hook"
        other = client.put("/api/v1/webhook", json={"url": "http://[::1]:9000/hook"}, headers=AUTH)
        assert other.status_code == 422 and "::1, a loopback address" in other.json()["error"]["message"]
