"""The exam page as the server gives it: the automation contract, clear pages for links that open no exam,
a Content-Security-Policy that frames only the exam's content, and nothing fetched from outside."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.scenarios import Scenario
from tests.live.conftest import enrol
from tests.servers import LiveServer, free_port
from web.live.client import LiveClient, LiveError
from web.pages.i18n import catalog
from web.pages.student import OPTIONAL_STEPS, STATIC, STEPS
from web.settings import Settings

TIMEOUT_S = 60.0
"""The server under test shares the machine with the other test worker: a loaded machine answers slowly, not wrongly."""
_get = functools.partial(httpx.get, timeout=TIMEOUT_S)
_post = functools.partial(httpx.post, timeout=TIMEOUT_S)

KEY = "page-test-key-0123456789abcdef"
ASSET_BUDGET_BYTES = 300 * 1024


@pytest.fixture(scope="module")
def page_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("page-data"),
        port=free_port(),
        bootstrap_api_key=KEY,
        checkpoint_interval_s=3600,
        retention_days=90,
        privacy_contact="exams@college.kz",
        log_level="WARNING",
    )
    with LiveServer(settings) as server:
        yield server


def test_the_page_keeps_the_automation_contract_in_the_asked_language(page_server: LiveServer, demo: Scenario) -> None:
    enrolled = enrol(page_server.url, demo, key=KEY, content_url="https://moodle.college.kz/mod/quiz/view.php?id=7")
    answer = _get(f"{page_server.url}/join/{enrolled.token}", params={"lang": "ru"})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    html = answer.text
    assert '<html lang="ru">' in html
    shown = [step for step in STEPS if step not in OPTIONAL_STEPS]  # no ID card: the exam's policy asks for none
    assert re.findall(r'<section data-step="([a-z-]+)"', html) == shown
    assert len(re.findall(r'<section data-step="consent"[^>]*>', html)) == 1
    assert "hidden" not in re.findall(r'<section data-step="consent"[^>]*>', html)[0]  # the first screen is shown
    for step in shown[1:]:
        assert re.search(rf'<section data-step="{step}"[^>]*hidden', html), f"{step} is shown before its turn"
    assert html.count('data-action="continue"') == len(shown)
    assert catalog("ru").text("consent.kept", days="90") in html  # the deployment's retention, in words
    assert "exams@college.kz" in html
    policy = answer.headers["content-security-policy"]
    assert "frame-src 'self' https://moodle.college.kz;" in policy and "default-src 'self'" in policy
    assert "script-src 'self';" in policy  # no inline script runs on the exam page
    assert answer.headers["referrer-policy"] == "no-referrer"  # the token in the address never leaks


def test_the_browsers_language_is_the_default(page_server: LiveServer, demo: Scenario) -> None:
    enrolled = enrol(page_server.url, demo, key=KEY)
    answer = _get(f"{page_server.url}/join/{enrolled.token}", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in answer.text
    fallback = _get(f"{page_server.url}/join/{enrolled.token}", headers={"Accept-Language": "de-DE"})
    assert '<html lang="kk">' in fallback.text


def test_a_link_that_opens_no_exam_gets_a_clear_page(page_server: LiveServer, demo: Scenario) -> None:
    unknown = _get(f"{page_server.url}/join/not-a-token", params={"lang": "en"})
    assert unknown.status_code == 404 and catalog("en").text("gone.invalid_title") in unknown.text
    closed = enrol(page_server.url, demo, key=KEY, closes_at="2020-01-01T00:00:00Z")
    answer = _get(f"{page_server.url}/join/{closed.token}", params={"lang": "kk"})
    assert answer.status_code == 410 and catalog("kk").text("gone.closed_title") in answer.text


def test_the_page_and_its_assets_load_nothing_from_outside_and_stay_small(
    page_server: LiveServer, demo: Scenario
) -> None:
    enrolled = enrol(page_server.url, demo, key=KEY)
    html = _get(f"{page_server.url}/join/{enrolled.token}").text
    referenced = re.findall(r'(?:src|href)="([^"]+)"', html)
    assets = [ref for ref in referenced if ref.startswith("/assets/")]
    assert {"/assets/student/main.js", "/assets/student/student.css"} <= set(assets)
    assert not [ref for ref in referenced if re.match(r"(https?:)?//", ref)], referenced
    total = len(html.encode())
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            served = _get(f"{page_server.url}/assets/{path.relative_to(STATIC)}")
            assert served.status_code == 200
            assert not re.search(r"""(?:import|from|url\()\s*["']?(?:https?:)?//""", served.text), path
            total += len(served.content)
    assert total <= ASSET_BUDGET_BYTES, f"the page and its assets weigh {total} bytes"
    imports = set(re.findall(r'from "\./([a-z]+\.js)"', (STATIC / "student" / "main.js").read_text()))
    assert imports <= {p.name for p in Path(STATIC / "student").glob("*.js")}


def test_the_speed_check_takes_only_a_valid_token_and_a_bounded_body(page_server: LiveServer, demo: Scenario) -> None:
    enrolled = enrol(page_server.url, demo, key=KEY)
    url = f"{page_server.url}/live/speedtest"
    before = _post(url, content=b"x", headers={"Authorization": f"Bearer {enrolled.token}"})
    assert before.status_code == 403  # nothing of the candidate's is taken before they accept the terms

    async def accept() -> None:
        client = LiveClient(page_server.url, enrolled.token)
        await client.open()
        await client.consent()
        await client.close()

    asyncio.run(accept())
    ok = _post(url, content=b"x" * 65536, headers={"Authorization": f"Bearer {enrolled.token}"})
    assert ok.status_code == 200 and ok.json() == {"bytes": 65536}
    assert _post(url, content=b"x", headers={"Authorization": "Bearer nope"}).status_code == 401
    too_big = _post(url, content=b"x" * (5 * 1024 * 1024), headers={"Authorization": f"Bearer {enrolled.token}"})
    assert too_big.status_code == 413


def test_an_exam_that_has_not_opened_shows_when_and_nothing_else(page_server: LiveServer, demo: Scenario) -> None:
    quiz = "https://moodle.college.kz/mod/quiz/view.php?id=9"
    early = enrol(page_server.url, demo, key=KEY, opens_at="2030-01-15T06:00:00Z", content_url=quiz)
    for language, when in (("en", "January 15, 2030"), ("ru", "15 января 2030"), ("kk", "2030 ж. 15 қаңтар")):
        page = _get(f"{page_server.url}/join/{early.token}", params={"lang": language})
        assert page.status_code == 403 and catalog(language).text("early.title") in page.text
        shown = page.text.replace("\xa0", " ").replace("\u202f", " ")  # the locales' spaces
        assert when in shown and "11:00" in shown  # in the platform's time zone (Asia/Almaty)
        assert "moodle.college.kz" not in page.text and "main.js" not in page.text  # no content link, no exam
    bearer = {"Authorization": f"Bearer {early.token}"}
    offer = _post(
        f"{page_server.url}/live/offer", json={"sdp": "v=0\r\nm=video 9 X 96\r\n", "type": "offer"}, headers=bearer
    )
    assert offer.status_code == 409 and "opens at 2030-01-15T06:00:00" in offer.json()["error"]["message"]

    async def hello() -> int:
        client = LiveClient(page_server.url, early.token)
        try:
            with pytest.raises(LiveError) as refused:
                await client.open()
            return refused.value.status
        finally:
            await client.close()

    assert asyncio.run(hello()) == 4409  # the control socket, and so the consent, waits for the opening too
    part = httpx.put(
        f"{page_server.url}/live/recording/run-1/0",
        content=b"\x1a\x45\xdf\xa3",
        headers={**bearer, "Content-Type": "video/webm", "X-Run-Start-S": "0"},
    )
    assert part.status_code == 403  # nothing is taken before the terms, which cannot be accepted yet
    upload = _post(
        f"{page_server.url}/api/v1/sessions/{early.session_id}/recording",
        files={"file": ("exam.mp4", demo.video.read_bytes(), "video/mp4")},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=60,
    )
    assert upload.status_code == 409 and "not opened" in upload.json()["error"]["message"]


def test_the_consent_names_terms_the_page_showed(page_server: LiveServer, demo: Scenario) -> None:
    enrolled = enrol(page_server.url, demo, key=KEY)

    async def answer(terms: str | None) -> str:
        client = LiveClient(page_server.url, enrolled.token)
        try:
            await client.open()
            try:
                return str((await client.consent(terms=terms))["consent"])
            except LiveError as refused:
                return str(refused)
        finally:
            await client.close()

    assert "not the terms" in asyncio.run(answer("made-up-terms"))
    assert asyncio.run(answer(None)) == "accepted"  # the English terms the page shows


def test_the_receipt_page_opens_only_with_the_sessions_own_link_once_finished(
    page_server: LiveServer, demo: Scenario
) -> None:
    enrolled = enrol(page_server.url, demo, key=KEY)
    assert _get(f"{page_server.url}/join/not-a-token/receipt").status_code == 404
    early = _get(f"{page_server.url}/join/{enrolled.token}/receipt?lang=en")
    assert early.status_code == 409 and catalog("en").text("receipt.not_yet") in early.text
