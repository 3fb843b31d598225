"""Every absolute URL the platform gives out starts with `PROCTOR_PUBLIC_URL`, whatever `Host` a client forges:
list pages' `next`, join links and the redirects the framework makes (a trailing slash taken off)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from web.app import create_app
from web.routes.footprint.common import page
from web.settings import Settings

KEY = "public-url-test-key-0123456789"
PUBLIC = "https://exam.college.kz"
FORGED = {"Host": "evil.example", "Authorization": f"Bearer {KEY}"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, bootstrap_api_key=KEY, checkpoint_interval_s=3600, public_url=PUBLIC)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_next_links_and_join_links_are_on_the_public_url(client: TestClient, media: Path) -> None:
    exams = [
        client.post("/api/v1/exams", json={"title": f"Final {n}", "attestation": "final"}, headers=FORGED).json()["id"]
        for n in range(2)
    ]
    listed = client.get("/api/v1/exams", params={"limit": 1, "attestation": "final"}, headers=FORGED).json()
    assert listed["next"] == f"{PUBLIC}/api/v1/exams?limit=1&attestation=final&offset=1"
    following = client.get(listed["next"], headers=FORGED).json()
    assert [e["id"] for e in following["items"]] == exams[:1] and following["next"] is None
    candidate = client.post(
        f"/api/v1/exams/{exams[0]}/candidates",
        data={"external_id": "S-1", "full_name": "Aigerim Nurlanovna"},
        files={"photo": ("reference.jpg", (media / "obama.jpg").read_bytes(), "image/jpeg")},
        headers=FORGED,
    ).json()
    session = client.post(f"/api/v1/exams/{exams[0]}/sessions", json={"candidate_id": candidate["id"]}, headers=FORGED)
    assert session.json()["join_url"].startswith(f"{PUBLIC}/join/")


def test_redirects_are_on_the_public_url_or_relative(client: TestClient) -> None:
    for path, target in (("/api/v1/exams/", "/api/v1/exams"), ("/api/v1/exams/?limit=1", "/api/v1/exams?limit=1")):
        moved = client.get(path, headers=FORGED, follow_redirects=False)
        assert moved.status_code == 307 and moved.headers["location"] == PUBLIC + target
    desk = client.get("/desk", headers={"Host": "evil.example", "Accept": "text/html"}, follow_redirects=False)
    assert desk.status_code == 303 and desk.headers["location"] == "/desk/login"  # relative: the browser's origin


def test_footprint_pages_are_on_the_public_url() -> None:
    services = SimpleNamespace(settings=Settings(public_url=PUBLIC + "/"))
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/footprint/learners",
        "query_string": b"limit=2&group=EL-21",
        "headers": [(b"host", b"evil.example")],
        "state": {"services": services},
    }
    listed = page(Request(scope), list(range(5)), limit=2, offset=0)
    assert listed["next"] == f"{PUBLIC}/api/v1/footprint/learners?limit=2&group=EL-21&offset=2"
    assert page(Request(scope), list(range(5)), limit=2, offset=4)["next"] is None
