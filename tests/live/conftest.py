"""Live sessions for real: the platform on loopback, an aiortc client streaming WebM made from the scenarios."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.live_media import webm_of
from tests.fixtures.scenarios import FPS, HEIGHT, WIDTH, Scenario, build_demo_parts, build_scan_exam
from tests.roomscan.render import eased, render_scan
from tests.servers import LiveServer, free_port
from web.settings import Settings

KEY = "live-test-key-0123456789abcdef"
NO_PRE_EXAM_SCAN = {"room_scan": {"pre_exam": False}}


@dataclass(frozen=True)
class LiveMedia:
    """The demo as a browser sends it (VP8 + Opus WebM), whole and cut in two at `cut_s`; the demo as the page
    records it beside (another encoder: keyframes every 2 s, 600 kbit/s); and another person's recording of
    `cut_s` seconds (a page that sends another video than its camera's)."""

    whole: Path
    first: Path
    second: Path
    cut_s: float
    recorded: Path
    another: Path


@pytest.fixture(scope="session")
def live_media(demo: Scenario, media: Path, tmp_path_factory: pytest.TempPathFactory) -> LiveMedia:
    folder = tmp_path_factory.mktemp("live-media")
    cut = 12.0
    first, second = build_demo_parts(folder, cut_s=cut)
    return LiveMedia(
        webm_of(demo.video, folder / "demo.webm"),
        webm_of(first, folder / "first.webm"),
        webm_of(second, folder / "second.webm"),
        cut,
        webm_of(demo.video, folder / "recorded.webm", keyframe_every_s=2.0, bitrate=600_000),
        webm_of(media / "WolfgangLanger_Pexels.mp4", folder / "another.webm", keyframe_every_s=2.0, until_s=cut),
    )


SCAN_TURN = [(0.0, 0.0), (12.0, 370.0)]
"""The room scan's yaw knots (t, degrees): one slow full turn of the laptop in 12 s."""


@dataclass(frozen=True)
class ScanMedia:
    """The candidate at the desk, a room scan from `scan_from_s`, the candidate again (VP8 + Opus WebM)."""

    path: Path
    scan_from_s: float
    trajectory: list[tuple[float, float]]


@pytest.fixture(scope="session")
def scan_media(tmp_path_factory: pytest.TempPathFactory) -> ScanMedia:
    folder = tmp_path_factory.mktemp("live-scan")
    scan = render_scan(folder / "turn.mp4", eased(SCAN_TURN), SCAN_TURN[-1][0], fps=FPS, size=(WIDTH, HEIGHT))
    exam, scan_from = build_scan_exam(folder, scan.path)
    return ScanMedia(webm_of(exam, folder / "scan_exam.webm"), scan_from, SCAN_TURN)


@pytest.fixture
def live_settings(tmp_path: Path) -> Settings:
    """The live server's settings (its database: `live_settings.db_url`)."""
    return Settings(
        data_dir=tmp_path / "data",
        port=free_port(),
        bootstrap_api_key=KEY,
        checkpoint_interval_s=3600,
        log_level="WARNING",
    )


@pytest.fixture
def live_server(live_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(live_settings) as server:
        yield server


@dataclass(frozen=True)
class Enrolled:
    exam_id: str
    candidate_id: str
    session_id: str
    token: str


def api(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)


def enrol(base_url: str, demo: Scenario, policy: dict[str, Any] | None = None, key: str = KEY, **exam: Any) -> Enrolled:
    """An exam (by default without the pre-exam room scan), the demo's candidate and a session."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        body = {"title": "Final: Welding safety", "attestation": "final", "policy": policy or NO_PRE_EXAM_SCAN, **exam}
        made = client.post("/api/v1/exams", json=body)
        assert made.status_code == 201, made.text
        exam_id = made.json()["id"]
        candidate = client.post(
            f"/api/v1/exams/{exam_id}/candidates",
            data={"external_id": "S-0042", "full_name": "Aigerim Nurlanovna"},
            files={"photo": ("reference.jpg", demo.reference.read_bytes(), "image/jpeg")},
        ).json()
        session = client.post(f"/api/v1/exams/{exam_id}/sessions", json={"candidate_id": candidate["id"]}).json()
    return Enrolled(exam_id, candidate["id"], session["id"], session["join_url"].rsplit("/", 1)[1])
