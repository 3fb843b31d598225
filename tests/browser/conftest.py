"""Real pages in a real browser: Debian's chromium driven by Playwright (never a downloaded browser), against
the platform served by uvicorn on loopback. Screenshots go to `out/screenshots/` (kept as test artifacts)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.servers import LiveServer, free_port
from web.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "out" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]


@pytest.fixture(scope="module")  # its event loop must not outlive the module: other tests run asyncio.run
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run `make system-deps` (apt-get install chromium)")
    launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
    yield launched
    launched.close()


@pytest.fixture
def live_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        port=free_port(),
        bootstrap_api_key="browser-test-key-0123456789",
        checkpoint_interval_s=3600,
        log_level="WARNING",
    )


@pytest.fixture
def live_server(live_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(live_settings) as server:
        yield server


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
