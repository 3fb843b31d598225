"""The ID-card step of the exam page in a real browser: Debian's chromium whose fake camera shows a rendered Kazakh
ID card (tests/fixtures/id_cards.py), an exam whose policy asks for the card (`identity.id_document: on`). The page
goes consent → system check → ID card → identity; the server keeps one check; screenshots of the step in Kazakh
and Russian at 1280 × 800 and 390 × 844 go to out/screenshots/."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, Playwright
from sqlalchemy import select

from footprint.store import make_engine, make_session_factory
from proctor.sessions.tables import CandidateRow, IdDocumentRow, SessionRow
from tests.browser.conftest import CHROMIUM_FLAGS, screenshot_path
from tests.fixtures.id_cards import OBAMA, Shot, photograph, render_card
from tests.servers import LiveServer, free_port
from web.pages.i18n import catalog
from web.platform import media_storage
from web.settings import Settings

pytestmark = pytest.mark.slow
KEY = "browser-test-key-0123456789"
NAME = "Ерлан Сейтқалиев"  # as printed on OBAMA's card
POLICY = {"room_scan": {"pre_exam": False}, "identity": {"id_document": "on"}}
FRAMES = 30
"""One second of the card (Chromium loops the file)."""


@pytest.fixture(scope="module")
def card_camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake camera's file: the card held flat, filling about the page's frame (80 % of the width), 1280 × 720."""
    image = photograph(render_card(OBAMA), Shot(card_share=0.8, jpeg_quality=90))
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    path = tmp_path_factory.mktemp("card-camera") / "card.mjpeg"
    path.write_bytes(jpeg.tobytes() * FRAMES)
    return path


@pytest.fixture(scope="module")
def card_browser(playwright: Playwright, card_camera: Path) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is not installed: run `make system-deps`"
    flags = [
        *CHROMIUM_FLAGS,
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={card_camera}",
        "--use-fake-ui-for-media-stream",
    ]
    launched = playwright.chromium.launch(executable_path=executable, args=flags)
    yield launched
    launched.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", port=free_port(), bootstrap_api_key=KEY, checkpoint_interval_s=3600,
        log_level="WARNING",
    )  # fmt: skip


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as running:
        yield running


def enrol_without_photo(server: LiveServer, settings: Settings) -> tuple[str, str]:
    """An exam asking for the ID card, a candidate enrolled without a reference photo (as the LMS enrols one), a
    session: (session id, join token)."""
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as client:
        made = client.post(
            "/api/v1/exams", json={"title": "Final: Welding safety", "attestation": "final", "policy": POLICY}
        )
        assert made.status_code == 201, made.text
        exam_id = made.json()["id"]
        candidate_id = str(uuid.uuid4())
        engine = make_engine(settings.db_url)
        try:
            with make_session_factory(engine).begin() as db:
                db.add(CandidateRow(id=candidate_id, exam_id=exam_id, external_id="S-0042", full_name=NAME))
        finally:
            engine.dispose()
        session = client.post(f"/api/v1/exams/{exam_id}/sessions", json={"candidate_id": candidate_id})
        assert session.status_code == 201, session.text
    return session.json()["id"], session.json()["join_url"].rsplit("/", 1)[1]


def stored_checks(settings: Settings, session_id: str) -> list[IdDocumentRow]:
    engine = make_engine(settings.db_url)
    try:
        with make_session_factory(engine)() as db:
            return list(db.scalars(select(IdDocumentRow).where(IdDocumentRow.session_id == session_id)))
    finally:
        engine.dispose()


def session_status(settings: Settings, session_id: str) -> str:
    engine = make_engine(settings.db_url)
    try:
        with make_session_factory(engine)() as db:
            row = db.get(SessionRow, session_id)
            assert row is not None
            return row.status
    finally:
        engine.dispose()


def visible_step(page: Page) -> str:
    steps = page.eval_on_selector_all("section[data-step]:not([hidden])", "els => els.map(e => e.dataset.step)")
    assert len(steps) == 1, steps
    return str(steps[0])


def go_on(page: Page, step: str, timeout_s: float = 90) -> None:
    button = f'section[data-step="{step}"] button[data-action="continue"]'
    page.wait_for_selector(f"{button}:not([disabled])", timeout=timeout_s * 1000)
    assert visible_step(page) == step
    page.click(button)


def to_the_card(page: Page, url: str) -> None:
    page.goto(url)
    go_on(page, "consent")
    go_on(page, "system-check")
    page.wait_for_selector('section[data-step="id-card"]:not([hidden])')
    page.wait_for_selector(".card-frame[data-fit]")  # the camera plays and the checks have run on its picture


def shoot(page: Page, language: str, name: str) -> None:
    page.click(f'nav.langs a[data-lang="{language}"]')
    assert page.inner_text('section[data-step="id-card"] h1') == catalog(language).text("idcard.title")
    page.screenshot(path=str(screenshot_path(name)), full_page=True)


def test_the_card_step_sends_the_card_and_goes_on_to_identity(
    card_browser: Browser, server: LiveServer, settings: Settings
) -> None:
    session_id, token = enrol_without_photo(server, settings)
    context = card_browser.new_context(viewport={"width": 1280, "height": 800}, locale="kk-KZ")
    try:
        page = context.new_page()
        to_the_card(page, f"{server.url}/join/{token}?lang=kk")
        steps = page.eval_on_selector_all(".steps li", "els => els.map(e => e.dataset.for)")
        assert steps[:4] == ["consent", "system-check", "id-card", "identity"]
        # the live identity check waits for the card: the session stays in its identity check meanwhile
        assert session_status(settings, session_id) == "identity_check"
        assert page.get_attribute('section[data-step="id-card"] button[data-action="continue"]', "disabled") is not None
        page.wait_for_selector('.card-frame[data-fit="good"]', timeout=10_000)
        assert page.is_hidden("#idcard-hint")  # the card fills the frame, no glare, sharp: no hint
        shoot(page, "kk", "student-id-card-kk")
        shoot(page, "ru", "student-id-card-ru")
        page.click('section[data-step="id-card"] button[data-action="capture"]')
        page.wait_for_selector('section[data-step="id-card"][data-result]', timeout=60_000)
        shown = page.evaluate("document.querySelector('#idcard-video').getVideoPlaybackQuality().totalVideoFrames")
        page.wait_for_timeout(1500)
        later = page.evaluate("document.querySelector('#idcard-video').getVideoPlaybackQuality().totalVideoFrames")
        assert later > shown  # taking the photo left the camera's stream running
        assert page.inner_text("#idcard-state") == catalog("ru").text("idcard.received")
        page.screenshot(path=str(screenshot_path("student-id-card-received-ru")), full_page=True)
        checks = stored_checks(settings, session_id)
        assert len(checks) == 1
        outcome = checks[0].outcome
        assert outcome["card_found"] and outcome["iin_valid"] and outcome["name_match"], outcome
        assert outcome["card_face_px"] is not None
        # the fake camera shows the card alone: the server's own pictures hold no candidate to compare it with
        assert outcome["stream"]["reason"] == "no face in the server's pictures of the video", outcome
        assert outcome["stream"]["match"] is None and "stream_face_unverified" in outcome["problems"], outcome
        assert checks[0].card_embedding is not None  # a reference for the examiner to confirm
        assert checks[0].picture_key is not None
        with media_storage(settings).open(checks[0].picture_key) as handle:
            still = cv2.imdecode(np.frombuffer(handle.read(), np.uint8), cv2.IMREAD_COLOR)
        assert still.shape[:2] == (720, 1280)  # the camera's full resolution, not the 640 × 360 of the stream
        go_on(page, "id-card")
        # no reference photo: once the card step is over the identity check ends at once (not checked)
        go_on(page, "identity", timeout_s=30)
        page.wait_for_selector('section[data-step="calibration"]:not([hidden])')
        assert len(stored_checks(settings, session_id)) == 1
    finally:
        context.close()


def test_the_card_step_fits_a_phone(card_browser: Browser, server: LiveServer, settings: Settings) -> None:
    _, token = enrol_without_photo(server, settings)
    context = card_browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU", is_mobile=True)
    try:
        page = context.new_page()
        to_the_card(page, f"{server.url}/join/{token}?lang=ru")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sideways
        frame = page.eval_on_selector(".card-frame", "e => e.getBoundingClientRect().toJSON()")
        view = page.eval_on_selector(".card-view", "e => e.getBoundingClientRect().toJSON()")
        assert frame["left"] >= view["left"] and frame["right"] <= view["right"] + 0.5
        assert abs(frame["width"] / frame["height"] - 85.6 / 54) < 0.05  # an ID-1 card's shape
        shoot(page, "kk", "student-id-card-390-kk")
        shoot(page, "ru", "student-id-card-390-ru")
    finally:
        context.close()
