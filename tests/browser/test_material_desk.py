"""Foreign material on the desk in a real browser (Debian's chromium): an examiner opens the exam's list from the exam
page, opens a copied answer's report in Kazakh — the passages side by side, the differences marked — and confirms
the finding through the form; the decision is in the ledger and on the page. Screenshots go to
out/screenshots/desk-material-*.png."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from footprint.ledger.tables import EntryRow
from footprint.store import make_engine
from tests.browser.conftest import screenshot_path
from tests.desk.world import PASSWORD, World, copy_world
from tests.material.corpus import change_words, mix_alphabets, sections, vocabulary
from tests.servers import LiveServer, free_port

pytestmark = pytest.mark.slow

KK = sections("order-349-2023-as-amended-by-103-2025-kk.txt")
RU = sections("order-349-2023-ru.txt")


@pytest.fixture
def server(built_world: World, tmp_path: Path) -> Iterator[tuple[World, LiveServer]]:
    world = copy_world(built_world, tmp_path / "data")
    settings = world.settings.model_copy(update={"port": free_port(), "log_level": "WARNING"})
    with LiveServer(settings) as running:
        yield world, running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 950}, locale="kk-KZ")
    yield context.new_page()
    context.close()


def add_answers(url: str, world: World) -> dict[str, int]:
    """An essay, a copy of it with a fifth of its words changed, an answer hiding its text behind Latin look-alikes
    and an honest Russian one, through the college API."""
    texts = {
        "original": ("S-001", "Айгерім Нұрланқызы", KK[4].text),
        "copy": ("S-002", "Иван Петров", change_words(KK[4].text, 0.2, 7, vocabulary(KK[4]))),
        "mixed": ("S-003", "Асқар Серікұлы", mix_alphabets(KK[6].text, 3)),
        "honest": ("S-004", "Ольга Ким", RU[3].text),
    }
    made = {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {world.key_a}"}) as api:
        for name, (learner, full_name, text) in texts.items():
            body = {"learner_id": learner, "learner_name": full_name, "title": "Эссе: қашықтан оқыту", "text": text}
            answer = api.post(f"/api/v1/exams/{world.exam_a}/answers", json=body)
            assert answer.status_code == 201, answer.text
            made[name] = int(answer.json()["id"])
    return made


def decisions(world: World) -> list[dict[str, object]]:
    engine = make_engine(world.settings.db_url)
    try:
        with engine.connect() as db:
            rows = db.execute(select(EntryRow.payload).where(EntryRow.kind == "material_decision")).all()
    finally:
        engine.dispose()
    return [json.loads(bytes(row.payload)) for row in rows]


def test_an_examiner_compares_the_passages_and_confirms_a_copy(server: tuple[World, LiveServer], page: Page) -> None:
    world, running = server
    made = add_answers(running.url, world)
    page.goto(f"{running.url}/desk/login?lang=kk")
    page.fill("input[name=email]", world.examiner_a.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.click(f"a[href='/desk/exams/{world.exam_a}']")
    page.click(f"a[href='/desk/exams/{world.exam_a}/material']")
    rows = page.locator("[data-answer-id]")
    expect(rows).to_have_count(4)
    expect(rows.last).to_have_attribute("data-answer-id", str(made["honest"]))
    page.screenshot(path=screenshot_path("desk-material-list-kk"), full_page=True)

    page.click(f"a[href='/desk/answers/{made['copy']}/material']")
    expect(page.locator("h1")).to_contain_text("Иван Петров")
    passage = page.locator("[data-passage]").first
    answer_side, source_side = passage.locator("[data-side=answer]"), passage.locator("[data-side=source]")
    expect(answer_side.locator("ins.changed").first).to_be_visible()
    expect(source_side.locator("del.changed").first).to_be_visible()
    left, right = answer_side.bounding_box(), source_side.bounding_box()
    assert left is not None and right is not None
    assert left["x"] + left["width"] <= right["x"] and abs(left["y"] - right["y"]) < 5  # side by side
    page.screenshot(path=screenshot_path("desk-material-report-kk"), full_page=True)

    page.fill("#material-note", "Айгерім Нұрланқызының эссесімен бірдей")
    page.click("#material-form button[value=confirmed]")
    expect(page.locator("#decisions li[data-finding=copy]")).to_have_attribute("data-decision", "confirmed")
    expect(page.locator("#decisions .history")).to_contain_text("Айгерім Нұрланқызының эссесімен бірдей")
    (record,) = decisions(world)
    assert record["answer"] == made["copy"] and record["action"] == "confirmed"
    assert record["examiner_id"] == world.examiner_a.id
    page.locator("#decisions").screenshot(path=screenshot_path("desk-material-decision-kk"))

    page.goto(f"{running.url}/desk/answers/{made['mixed']}/material?lang=ru")
    expect(page.locator("#mixed code").first).to_be_visible()
    page.screenshot(path=screenshot_path("desk-material-mixed-ru"), full_page=True)
