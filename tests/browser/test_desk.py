"""The examiner desk in a real browser (Debian's chromium): an examiner signs in, opens an exam of sessions made
from the real demo recording, steps through the events with the keyboard, dismisses one, confirms one, notes one,
gives a verdict and exports the protocol. What the browser did is checked where it is kept: the ledger, the
learner's footprint in the LRS, the PDF's text. Screenshots of every desk page in kk, ru and en go to
out/screenshots/desk-*.png."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from footprint.ledger.tables import EntryRow
from footprint.store import make_engine
from proctor.sessions.statements import FLAG_REVIEWED
from proctor.sessions.tables import ChunkRow, EventRow, SessionRow
from tests.browser.conftest import screenshot_path
from tests.desk.world import KAZAKH_NAME, PASSWORD, RUSSIAN_EXAMINER, RUSSIAN_NAME, World, copy_world
from tests.servers import LiveServer, free_port
from web.pages.i18n import LANGUAGES, catalog

pytestmark = pytest.mark.slow


@pytest.fixture
def server(built_world: World, tmp_path: Path) -> Iterator[tuple[World, LiveServer]]:
    world = copy_world(built_world, tmp_path / "data")
    settings = world.settings.model_copy(update={"port": free_port(), "log_level": "WARNING"})
    with LiveServer(settings) as running:
        yield world, running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1500, "height": 950}, locale="kk-KZ")
    yield context.new_page()
    context.close()


def selected(page: Page) -> str | None:
    return page.evaluate("document.querySelector('li.event[aria-current=true]')?.dataset.eventId ?? null")


def wait_until_at(page: Page, seconds: float) -> None:
    """Wait for the player to stand at `seconds` (half a second either way)."""
    page.wait_for_function(f"() => Math.abs(document.getElementById('player').currentTime - {seconds}) < 0.5")


def current_time(page: Page) -> float:
    return float(page.evaluate("document.getElementById('player').currentTime"))


def ledger(world: World, kind: str) -> list[dict[str, Any]]:
    engine = make_engine(world.settings.db_url)
    try:
        with engine.connect() as db:
            rows = db.execute(select(EntryRow.payload).where(EntryRow.kind == kind).order_by(EntryRow.index)).all()
    finally:
        engine.dispose()
    return [json.loads(bytes(row.payload)) for row in rows]


def test_an_examiner_reviews_a_session_with_the_keyboard(server: tuple[World, LiveServer], page: Page) -> None:
    world, running = server
    url = running.url
    session = world.sessions_a[0]
    page.goto(f"{url}/desk/exams/{world.exam_a}")  # not signed in: refused, with the way to sign in
    expect(page.locator("a[href^='/desk/login?next=']")).to_be_visible()
    page.goto(f"{url}/desk/login?lang=kk")
    page.screenshot(path=screenshot_path("desk-login-kk"))
    page.fill("input[name=email]", world.examiner_a.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.click(f"a[href='/desk/exams/{world.exam_a}']")
    rows = page.locator("[data-session-id]")
    expect(rows).to_have_count(3)
    assert RUSSIAN_NAME in page.content() and KAZAKH_NAME in page.content()
    page.screenshot(path=screenshot_path("desk-exam-kk"), full_page=True)

    page.click(f"a[href='/desk/sessions/{session}']")
    events = page.locator("li.event[data-event-id]")
    expect(events.first).to_be_visible()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    starts = [float(v) for v in events.evaluate_all("items => items.map(li => li.dataset.start)")]
    ids = events.evaluate_all("items => items.map(li => li.dataset.eventId)")
    types = events.evaluate_all("items => items.map(li => li.dataset.eventType)")
    assert len(ids) >= 4 and starts == sorted(starts)
    for key in ("j", "k", "c", "d", "n"):  # the keys are shown on the page
        expect(page.locator(".keys kbd", has_text=key)).to_have_count(1)

    page.keyboard.press("j")
    assert selected(page) == ids[0]
    wait_until_at(page, max(0.0, starts[0] - 2))
    page.keyboard.press("j")
    assert selected(page) == ids[1]
    page.keyboard.press("d")
    expect(page.locator(f"li.event[data-event-id='{ids[1]}']")).to_have_attribute("data-decision", "dismissed")
    page.keyboard.press("j")
    page.keyboard.press("c")
    expect(page.locator(f"li.event[data-event-id='{ids[2]}']")).to_have_attribute("data-decision", "confirmed")
    page.keyboard.press("n")
    expect(page.locator("#note-dialog")).to_be_visible()
    page.fill("#note-text", "Телефон көрінді")
    page.click("#note-dialog button[value=save]")
    expect(page.locator(f"li.event[data-event-id='{ids[2]}'] .notes li")).to_have_text("Телефон көрінді")
    page.keyboard.press("k")
    assert selected(page) == ids[1]
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert selected(page) == ids[3]
    at = current_time(page)
    assert abs(at - max(0.0, starts[3] - 2)) < 0.5

    page.select_option("#speed", "16")
    assert page.evaluate("document.getElementById('player').playbackRate") == 16
    bar = page.locator(f"#strip rect.bar[data-seq='{ids[0]}']")
    bar.click()
    wait_until_at(page, max(0.0, starts[0] - 2))
    assert selected(page) == ids[0]
    page.screenshot(path=screenshot_path("desk-review-kk"), full_page=True)

    page.select_option("select[name=verdict]", "annulled")
    page.fill("textarea[name=reason]", "Екінші адам жауап айтып отырды")
    page.click("#verdict-form button[type=submit]")
    expect(page.locator("li[data-verdict=annulled]")).to_have_count(1)

    reviews = ledger(world, "event_review")
    assert [(r["event"], r["action"], r["type"]) for r in reviews] == [
        (int(ids[1]), "dismissed", types[1]),
        (int(ids[2]), "confirmed", types[2]),
        (int(ids[2]), "noted", types[2]),
    ]
    assert all(r["examiner_id"] == world.examiner_a.id and r["examiner"] == RUSSIAN_EXAMINER for r in reviews)
    (verdict,) = ledger(world, "proctoring_verdict")
    assert verdict["verdict"] == "annulled" and verdict["note"] == "Екінші адам жауап айтып отырды"
    found = httpx.get(
        f"{url}/xapi/statements",
        params={"registration": session},
        headers={"X-Experience-API-Version": "1.0.3", "Authorization": f"Bearer {world.key_a}"},
    ).json()["statements"]
    flags = [s for s in found if s["verb"]["id"] == FLAG_REVIEWED["id"]]
    assert len(flags) == 3 and {s["actor"]["name"] for s in flags} == {KAZAKH_NAME}
    assert any(s["verb"]["id"].endswith("/completed") and s["result"]["success"] is False for s in found)

    link = page.locator("a[data-action=protocol-pdf]")
    pdf = page.request.get(url + str(link.get_attribute("href")))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages))
    for expected in (KAZAKH_NAME, RUSSIAN_EXAMINER, "Екінші адам жауап айтып отырды", "Телефон көрінді"):
        assert expected.split()[0] in text and expected.split()[-1] in text


def test_the_desk_pages_in_every_language(server: tuple[World, LiveServer], page: Page) -> None:
    world, running = server
    page.goto(f"{running.url}/desk/login")
    page.fill("input[name=email]", world.admin_a.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    for language in LANGUAGES:
        texts = catalog(language)
        page.goto(f"{running.url}/desk/sessions/{world.sessions_a[1]}?lang={language}")
        expect(page.locator("h2#score-title")).to_have_text(texts.text("desk.score.title"))
        expect(page.locator("html")).to_have_attribute("lang", language)
        page.screenshot(path=screenshot_path(f"desk-session-{language}"), full_page=True)
        page.goto(f"{running.url}/desk/exams/{world.exam_a}")  # the language stays chosen
        expect(page.locator("html")).to_have_attribute("lang", language)
        page.screenshot(path=screenshot_path(f"desk-exam-{language}"), full_page=True)
        page.goto(f"{running.url}/desk/people")
        expect(page.locator("h1")).to_have_text(texts.text("desk.people.title"))
        page.screenshot(path=screenshot_path(f"desk-people-{language}"), full_page=True)
    page.set_viewport_size({"width": 900, "height": 900})
    page.goto(f"{running.url}/desk/sessions/{world.sessions_a[1]}?lang=ru")
    page.screenshot(path=screenshot_path("desk-session-900-ru"), full_page=True)


def test_a_recording_that_does_not_match_and_a_piece_playback_left_out_are_shown(
    server: tuple[World, LiveServer], page: Page
) -> None:
    world, running = server
    session = world.sessions_a[1]
    engine = make_engine(world.settings.db_url)
    try:  # the seal found a stretch the analysis did not see, and a piece of the recording is gone from the disk
        with Session(engine) as db, db.begin():
            run = db.scalar(select(SessionRow.analysis_run).where(SessionRow.id == session))
            top = db.scalar(select(func.max(EventRow.seq)).where(EventRow.session_id == session))
            db.execute(
                update(SessionRow)
                .where(SessionRow.id == session)
                .values(recording_check="mismatch", recording_sealed_at=datetime.now(UTC))
            )
            db.add(
                EventRow(
                    session_id=session,
                    analysis_run=run,
                    seq=(top or 0) + 1,
                    type="recording_mismatch",
                    start_s=3.0,
                    end_s=9.0,
                    severity="high",
                    confidence=0.6,
                    technical=False,
                    peak_s=3.0,
                    measurements={"samples": 4, "best_similarity": 0.41, "min_similarity": 0.9},
                    state="closed",
                )
            )
            keys = db.scalars(select(ChunkRow.storage_key).where(ChunkRow.session_id == session)).all()
    finally:
        engine.dispose()
    (world.settings.media_path / sorted(keys)[-1]).unlink()
    page.goto(f"{running.url}/desk/login")
    page.fill("input[name=email]", world.admin_a.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.goto(f"{running.url}/desk/sessions/{session}?lang=ru")
    texts = catalog("ru")
    expect(page.locator(".recording-check")).to_have_text(texts.text("desk.recording.mismatch"))
    expect(page.locator("li.event[data-event-type=recording_mismatch]")).to_have_count(1)
    expect(page.locator("#skipped")).to_be_visible()
    expect(page.locator("#skipped")).to_contain_text("–0:30")  # the last chunk of the 30 s demo
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")  # the rest plays
    page.screenshot(path=screenshot_path("desk-recording-check-ru"), full_page=True)
    page.goto(f"{running.url}/desk/people?lang=ru")
    expect(page.locator(f"form[action='/desk/people/{world.examiner_a.id}/disable'] button")).to_be_visible()
    page.screenshot(path=screenshot_path("desk-people-controls-ru"), full_page=True)
