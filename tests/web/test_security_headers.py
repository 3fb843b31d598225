"""Security headers on every answer of the real app: no sniffing, no referrer, powerful browser features denied
but on the exam page (its camera, microphone and screen), and HSTS only when the platform is served over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from web.app import create_app
from web.headers import DENIED_FEATURES
from web.settings import Settings

KEY = "headers-test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
HSTS = "max-age=31536000; includeSubDomains"


def app_client(data: Path, public_url: str | None) -> TestClient:
    settings = Settings(data_dir=data, bootstrap_api_key=KEY, checkpoint_interval_s=3600, public_url=public_url)
    return TestClient(create_app(settings))


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[TestClient]:
    """The platform on plain http (no public URL set)."""
    with app_client(tmp_path, None) as client:
        yield client


def join_token(client: TestClient, media: Path) -> str:
    """A new session's join token (an exam, a candidate with a reference photo, a session)."""
    exam = client.post("/api/v1/exams", json={"title": "Final: Welding safety", "attestation": "final"}, headers=AUTH)
    candidate = client.post(
        f"/api/v1/exams/{exam.json()['id']}/candidates",
        data={"external_id": "S-1", "full_name": "Aigerim Nurlanovna"},
        files={"photo": ("reference.jpg", (media / "obama.jpg").read_bytes(), "image/jpeg")},
        headers=AUTH,
    )
    assert candidate.status_code == 201, candidate.text
    session = client.post(
        f"/api/v1/exams/{exam.json()['id']}/sessions", json={"candidate_id": candidate.json()["id"]}, headers=AUTH
    )
    return str(session.json()["join_url"].rsplit("/", 1)[1])


def answers(client: TestClient, token: str) -> dict[str, httpx.Response]:
    found = {
        "json": client.get("/api/v1/exams", headers=AUTH),
        "error": client.get("/api/v1/exams/no-such-exam", headers=AUTH),
        "desk page": client.get("/desk/login", headers={"Accept": "text/html"}),
        "static asset": client.get("/assets/student/main.js"),
        "bad link page": client.get("/join/not-a-token"),
        "exam page": client.get(f"/join/{token}"),
    }
    assert [a.status_code for a in found.values()] == [200, 404, 200, 200, 404, 200]
    return found


def features(answer: httpx.Response) -> dict[str, str]:
    """The Permissions-Policy as feature → allowlist."""
    return dict(item.strip().split("=", 1) for item in answer.headers["permissions-policy"].split(","))


def test_every_answer_denies_powerful_features_but_the_exam_page_its_own(plain: TestClient, media: Path) -> None:
    found = answers(plain, join_token(plain, media))
    for what, answer in found.items():
        assert answer.headers["x-content-type-options"] == "nosniff", what
        assert answer.headers["referrer-policy"] == "no-referrer", what
        assert len(answer.headers.get_list("permissions-policy")) == 1, what
        assert "strict-transport-security" not in answer.headers, what  # plain http: never
        policy = features(answer)
        assert policy["fullscreen"] == "(self)", what
        if what != "exam page":
            assert all(policy[name] == "()" for name in DENIED_FEATURES), what
    exam = features(found["exam page"])
    for name in ("camera", "microphone", "display-capture", "window-management"):
        assert exam[name] == "(self)"  # this origin only: the framed exam content gets none of them
    assert all(exam[name] == "()" for name in ("geolocation", "usb", "payment", "serial", "hid", "bluetooth"))
    assert found["json"].headers["content-type"] == "application/json"
    assert "content-security-policy" not in found["json"].headers


def test_https_answers_carry_hsts(tmp_path: Path, media: Path) -> None:
    with app_client(tmp_path, "https://exam.college.kz") as behind_tls_proxy:
        for what, answer in answers(behind_tls_proxy, join_token(behind_tls_proxy, media)).items():
            assert answer.headers["strict-transport-security"] == HSTS, what
            assert answer.headers["x-content-type-options"] == "nosniff", what


def test_a_request_over_https_carries_hsts_even_without_a_public_url(plain: TestClient) -> None:
    assert plain.get("/healthz").headers.get("strict-transport-security") is None
    served_with_tls = plain.get("https://testserver/healthz")  # uvicorn with TLS, or a trusted X-Forwarded-Proto
    assert served_with_tls.headers["strict-transport-security"] == HSTS
