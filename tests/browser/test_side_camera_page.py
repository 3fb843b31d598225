"""The side camera in real browsers: the candidate's page (a desktop, the fake camera) shows the QR code and link on
the system check; a phone (mobile emulation, 390 × 844, the same fake camera) opens the link, records, and its
parts are kept and analysed as the session's side track, which plays back."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Browser

from tests.browser.conftest import screenshot_path
from tests.browser.test_student_page import (  # noqa: F401  (fixtures)
    KEY,
    api,
    capture,
    go_on,
    media_browser,
    other_college_key,
    student_server,
    student_settings,
)
from tests.fixtures.scenarios import Scenario
from tests.live.conftest import enrol
from tests.live.test_side_camera import views
from tests.servers import LiveServer
from web.pages.i18n import catalog
from web.settings import Settings

POLICY = {"room_scan": {"pre_exam": False}, "side_camera": {"required": True}}


def test_a_phone_joins_by_the_link_on_the_system_check_and_its_camera_is_recorded_as_the_side_track(
    media_browser: Browser,  # noqa: F811  (the fixture)
    student_server: LiveServer,  # noqa: F811  (the fixture)
    student_settings: Settings,  # noqa: F811  (the fixture)
    demo: Scenario,
    tmp_path: Path,
) -> None:
    enrolled = enrol(student_server.url, demo, policy=POLICY, key=KEY)
    desk = media_browser.new_context(viewport={"width": 1100, "height": 900}, locale="kk-KZ")
    phone = media_browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="ru-RU"
    )
    try:
        page = desk.new_page()
        page.goto(f"{student_server.url}/join/{enrolled.token}")
        go_on(page, "consent")
        check = 'section[data-step="system-check"]'
        page.wait_for_selector(f'{check} button[data-action="continue"]:not([disabled])', timeout=90_000)
        assert page.locator(f"{check} .side-camera").is_visible()
        assert page.get_attribute("#side-state", "data-state") == "waiting"  # no phone yet, and the page says so
        assert (page.get_attribute("#side-qr", "src") or "").startswith("data:image/svg+xml")
        assert page.evaluate("document.querySelector('#side-qr').naturalWidth") > 100  # the QR code draws
        page.locator(f"{check} .side-camera").scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_path("student-side-camera-kk")), full_page=True)
        link = page.get_attribute("#side-link", "href") or ""
        assert re.fullmatch(rf"{re.escape(student_server.url)}/side/[a-z0-9]{{24}}", link), link
        assert enrolled.token not in link

        mobile = phone.new_page()
        mobile.goto(link)  # what the QR code opens
        assert mobile.evaluate("document.documentElement.lang") == "ru"
        deadline = time.monotonic() + 60  # (wait_for_function evaluates a string: the page's CSP forbids it)
        while mobile.evaluate("() => window.sideDiagnostics ? window.sideDiagnostics.sent() : 0") < 4:
            assert time.monotonic() < deadline, mobile.locator("#side-status-text").inner_text()
            mobile.wait_for_timeout(500)
        assert mobile.get_attribute("#side-status", "data-state") == "live"
        assert mobile.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        mobile.screenshot(path=str(screenshot_path("side-phone-390-ru")), full_page=True)
        mobile.click('a[data-lang="kk"]')
        assert mobile.locator("#side-status-text").inner_text() != ""
        mobile.screenshot(path=str(screenshot_path("side-phone-390-kk")), full_page=True)

        # the candidate's page learns that the phone records (it polls the server, which read the stored parts)
        deadline = time.monotonic() + 60
        while page.get_attribute("#side-state", "data-state") == "waiting":
            assert time.monotonic() < deadline, page.inner_text("#side-state")
            page.wait_for_timeout(500)
        state = page.get_attribute("#side-state", "data-state") or ""
        assert state in ("connected", "sees_nobody"), state
        assert page.inner_text("#side-state") == catalog("kk").text(f"side.state_{state}")
        page.locator(f"{check} .side-camera").scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_path("student-side-camera-connected-kk")), full_page=False)

        seen = views(student_settings.db_url, enrolled.session_id)
        assert len(seen) >= 3, seen
        assert any(people >= 1 for _, people, *_ in seen), seen  # the fake camera's candidate is in view
        with api(student_server) as client:
            played = client.get(f"/api/v1/sessions/{enrolled.session_id}/recording", params={"track": "side"})
        assert played.status_code == 200 and played.headers["content-type"] == "video/webm"
        assert played.content[:4] == b"\x1a\x45\xdf\xa3" and len(played.content) > 20_000
        outsider = {"Authorization": f"Bearer {other_college_key(student_settings)}"}
        with api(student_server) as client:
            url = f"/api/v1/sessions/{enrolled.session_id}/recording"
            answer = client.get(url, params={"track": "side"}, headers=outsider)
        assert answer.status_code == 404  # another college's key sees nothing of it
    finally:
        desk.close()
        phone.close()
