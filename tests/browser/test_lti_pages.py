"""LTI launches in a real browser (Debian's chromium): the LMS emulator's course pages (tests/lti/platform.py) on one
loopback site, the platform on another (`localhost` and `127.0.0.1` are different sites to a browser): a learner's
launch in a new window, a teacher adding an exam by deep linking, and a launch framed in the course page, whose
login cookie must cross sites (`SameSite=None; Secure`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from footprint.accounts import CollegeRow
from footprint.people import Role, add_person
from footprint.store import make_engine, make_session_factory
from proctor.lti import claims as c
from tests.browser.conftest import screenshot_path
from tests.lti.platform import INSTRUCTOR, LEARNER, Member, PlatformEmulator
from tests.servers import LiveServer, free_port
from web.settings import load_settings

KEY = "browser-lti-key-0123456789"
ANN = Member("5", "Ann", "Lee", "ann@college.kz", [LEARNER], person_sourcedid="040101500011")
TEACHER = Member("2", "Aigul", "Sadykova", "aigul@college.kz", [INSTRUCTOR])


@pytest.fixture
def tool(tmp_path: Path) -> Iterator[LiveServer]:
    port = free_port()
    settings = load_settings(
        {"PROCTOR_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8"},
        data_dir=tmp_path / "data",
        port=port,
        public_url=f"http://localhost:{port}",
        bootstrap_api_key=KEY,
        checkpoint_interval_s=3600,
        log_level="WARNING",
    )
    with LiveServer(settings) as server:
        yield server


@pytest.fixture
def lms(tool: LiveServer) -> Iterator[PlatformEmulator]:
    base = f"http://localhost:{tool.port}"
    with PlatformEmulator("Moodle A", client_id="tool-a") as emulator:
        answer = httpx.post(
            f"{base}/api/v1/lti/platforms",
            headers={"Authorization": f"Bearer {KEY}"},
            json={
                "name": emulator.name,
                "issuer": emulator.issuer,
                "client_id": emulator.client_id,
                "deployment_ids": [emulator.deployment_id],
                "jwks_url": emulator.jwks_url,
                "auth_url": emulator.auth_url,
                "token_url": emulator.token_url,
            },
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        paste = answer.json()["tool"]
        emulator.configure_tool(
            login_url=paste["initiate_login_url"], redirect_uris=paste["redirection_uris"], jwks_url=f"{base}/lti/jwks"
        )
        yield emulator


def add_exam_in_browser(browser: Browser, lms: PlatformEmulator, title: str) -> dict[str, str]:
    """The teacher's deep-linking flow in the course page's frame; the custom parameters the LMS got back."""
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(lms.course_url(TEACHER, message="deeplink", framed=False))
    page.locator("#title").fill(title)
    page.screenshot(path=screenshot_path("lti-deep-link-choice"), full_page=True)
    page.locator("#add-new").click()
    expect(page.locator("#added")).to_be_visible(timeout=20_000)
    expect(page.locator("body")).to_contain_text(title)
    page.screenshot(path=screenshot_path("lti-deep-link-returned"))
    context.close()
    item = lms.deep_links[-1][c.DL_CONTENT_ITEMS][0]
    assert item["type"] == "ltiResourceLink" and item["title"] == title
    return dict(item["custom"])


def test_a_teacher_adds_an_exam_and_a_learner_launches_it_in_a_new_window(
    browser: Browser, tool: LiveServer, lms: PlatformEmulator
) -> None:
    custom = add_exam_in_browser(browser, lms, "Physics final (LTI)")
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(lms.course_url(ANN, framed=False, custom=custom))
    page.wait_for_url("**/join/**", timeout=20_000)
    expect(page.locator("body")).to_contain_text("Physics final (LTI)")
    page.screenshot(path=screenshot_path("lti-learner-launch"))
    context.close()


def test_a_framed_launch_keeps_its_cookies_across_sites(
    browser: Browser, tool: LiveServer, lms: PlatformEmulator
) -> None:
    custom = add_exam_in_browser(browser, lms, "Chemistry final (LTI)")
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(lms.course_url(ANN, framed=True, custom=custom))
    frame = page.frame_locator("#tool")
    expect(frame.locator("body")).to_contain_text("Chemistry final (LTI)", timeout=20_000)
    tool_frame = next(f for f in page.frames if "/join/" in f.url)
    assert tool_frame.url.startswith(f"http://localhost:{tool.port}/join/")
    page.screenshot(path=screenshot_path("lti-framed-launch"))
    context.close()


def test_an_admin_registers_an_lms_on_the_desk(browser: Browser, tool: LiveServer, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'proctor.db'}")
    with make_session_factory(engine)() as db, db.begin():
        (college,) = db.scalars(select(CollegeRow.id))
        add_person(db, college, "admin@college.kz", "College Admin", Role.ADMIN, "admin-password-123")
    engine.dispose()
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"http://localhost:{tool.port}/desk/login?next=/desk/lti")
    page.locator("#email").fill("admin@college.kz")
    page.locator("#password").fill("admin-password-123")
    page.locator("form.stack button[type=submit]").click()
    page.goto(f"http://localhost:{tool.port}/desk/lti?lang=en")
    expect(page.locator("#tool-config")).to_contain_text(f"http://localhost:{tool.port}/lti/login")
    page.locator("#name").fill("College Moodle")
    page.locator("#issuer").fill("https://moodle.college.kz")
    page.locator("#client_id").fill("abc123")
    page.locator("#deployment_ids").fill("1")
    page.locator("#jwks_url").fill("https://moodle.college.kz/mod/lti/certs.php")
    page.locator("#auth_url").fill("https://moodle.college.kz/mod/lti/auth.php")
    page.locator("#token_url").fill("https://moodle.college.kz/mod/lti/token.php")
    page.locator("#register button[type=submit]").click()
    expect(page.locator("table.platforms")).to_contain_text("https://moodle.college.kz")
    page.locator("#make-link").click()
    expect(page.locator("#registration-link")).to_contain_text(f"http://localhost:{tool.port}/lti/register/")
    page.screenshot(path=screenshot_path("lti-desk-registrations"), full_page=True)
    context.close()
