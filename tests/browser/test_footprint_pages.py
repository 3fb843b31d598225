"""The footprint pages in a real browser (Debian's chromium): an admin signs in to the desk, opens the college's
footprint, a group, a learner's timeline and the adverse-weather day in Kazakh, Russian and English, moves through
them with the keyboard, and recomputes at an older checkpoint. Screenshots go to out/screenshots/footprint-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from footprint.accounts import bootstrap
from footprint.people import Role, add_person
from footprint.semester.college import build_college
from footprint.semester.feed import feed
from footprint.semester.moodle import MoodleSite, User
from footprint.semester.plan import SemesterPlan
from tests.browser.conftest import screenshot_path
from tests.servers import LiveServer, free_port
from web.footprint_demo import proctoring_sink
from web.pages.i18n import LANGUAGES, catalog
from web.services import build_services
from web.settings import Settings

KEY = "footprint-browser-key-0123456789"
PASSWORD = "a long enough password"
PLAN = SemesterPlan(learners=24, group_size=3, weeks=8, views_per_session=1)
SITE = MoodleSite(PLAN.moodle_url, "College Moodle")
LATER = 3
"""Logins of the first learner stored after the first checkpoint (in a second, newer one)."""


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[LiveServer, int]]:
    settings = Settings(
        data_dir=tmp_path, port=free_port(), bootstrap_api_key=KEY, checkpoint_interval_s=3600, log_level="WARNING"
    )
    services = build_services(settings)
    try:
        with services.writing() as db:
            credential = bootstrap(db, KEY)
            assert credential is not None
            add_person(db, credential.college_id, "admin@college.kz", "Айгерім Сейтқали", Role.ADMIN, PASSWORD)
        with (
            LiveServer(settings) as server,
            httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as client,
        ):
            feed(client, build_college(PLAN), credential.college_id, proctoring_sink(services, credential.college_id))
            first = int(client.get("/ledger/checkpoint").text.split("\n")[1])
            later = [
                SITE.logged_in(
                    User(1000, "Айгерім Сейтқали"), datetime(2026, 9, 8, 10, 0, 7, tzinfo=UTC) + timedelta(hours=n)
                )
                for n in range(LATER)
            ]
            answer = client.post("/xapi/statements", json=later, headers={"X-Experience-API-Version": "1.0.3"})
            assert answer.status_code == 200, answer.text
            second = int(client.get("/ledger/checkpoint").text.split("\n")[1])
            assert second == first + LATER  # the newest checkpoint: the one pages compute at by default
            yield server, first
    finally:
        services.engine.dispose()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="kk-KZ")
    yield context.new_page()
    context.close()


def test_the_footprint_pages_in_every_language(running: tuple[LiveServer, int], page: Page) -> None:
    server, checkpoint = running
    url = server.url
    college = build_college(PLAN)
    until = (datetime.combine(PLAN.start + timedelta(weeks=PLAN.weeks), datetime.min.time(), UTC)).date().isoformat()
    page.goto(f"{url}/desk/footprint")
    expect(page.locator("a[href^='/desk/login?next=']")).to_be_visible()  # not signed in: refused, with a way in
    page.goto(f"{url}/desk/login")
    page.fill("input[name=email]", "admin@college.kz")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    for language in LANGUAGES:
        texts = catalog(language)
        page.goto(f"{url}/desk/footprint?lang={language}&until={until}")
        expect(page.locator("h1")).to_have_text(texts.text("footprint.title"))
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.locator("article.gauge svg.chart")).to_have_count(4)
        expect(page.locator("#basis-title")).to_have_text(texts.text("footprint.basis.title"))
        page.screenshot(path=screenshot_path(f"footprint-overview-{language}"), full_page=True)
        page.goto(f"{url}/desk/footprint/groups/ELEC-3?until={until}")
        expect(page.locator("tr[data-check='tvet.distance_share'] .badge")).to_have_text(
            texts.text("footprint.status.fail")
        )
        page.screenshot(path=screenshot_path(f"footprint-group-{language}"), full_page=True)
        page.goto(f"{url}/desk/footprint/learners/S0001?until={until}")
        expect(page.locator("svg#timeline, svg[aria-labelledby^='timeline']")).to_have_count(1)
        page.screenshot(path=screenshot_path(f"footprint-learner-{language}"), full_page=True)
        assert college.weather_day is not None
        page.goto(f"{url}/desk/footprint/weather/{college.weather_day.isoformat()}")
        expect(page.locator("table.table tbody tr").first).to_be_visible()
        page.screenshot(path=screenshot_path(f"footprint-weather-{language}"), full_page=True)
    page.goto(f"{url}/desk/footprint?lang=en&until={until}")
    page.keyboard.press("Tab")  # the skip link first, then the page's own controls, all reachable by keyboard
    expect(page.locator("a.skip")).to_be_focused()
    page.locator("details summary").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("pre.commands")).to_contain_text(
        "footprint verify report --bundle evidence-compliance-programmes-ELEC.json"
    )
    newest = _statements_counted(page)
    expect(page.locator(".basis p").first).to_contain_text(f"{checkpoint + LATER:,}")
    page.fill("#treeSize", str(checkpoint))
    page.click("form.period button[type=submit]")
    expect(page.locator(".basis p").first).to_contain_text(f"{checkpoint:,}")
    assert _statements_counted(page) == newest - LATER  # computed without the logins the later checkpoint holds
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"{url}/desk/footprint/learners/S0001?lang=ru&until={until}")
    page.screenshot(path=screenshot_path("footprint-learner-ru-360"), full_page=True)


def _statements_counted(page: Page) -> int:
    found = re.search(
        r"Computed from ([\d,]+) statements", page.locator("section[aria-labelledby=more-title]").inner_text()
    )
    assert found is not None
    return int(found.group(1).replace(",", ""))
