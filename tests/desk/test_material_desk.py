"""Foreign material on the desk: an exam's answers with their shares (findings first, linked from the exam's page),
one answer's report with its passages side by side and the differences marked (the answer's own text escaped), the
mixed-alphabet finding, and the examiner's confirm/dismiss form — a ledger record each time, refused without the
CSRF token; another college's examiner and an examiner not assigned to the exam find nothing (404)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from footprint.ledger.tables import EntryRow
from footprint.store import make_engine
from tests.desk.desk_client import HTML, sign_in
from tests.desk.test_access import fresh
from tests.desk.world import RUSSIAN_EXAMINER, World
from tests.material.corpus import change_words, mix_alphabets, sections, vocabulary
from web.app import create_app
from web.pages.i18n import LANGUAGES, catalog

KK = sections("order-349-2023-as-amended-by-103-2025-kk.txt")
RU = sections("order-349-2023-ru.txt")
SCRIPT = "<script>alert('көшірме')</script>"


@pytest.fixture
def app(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.settings)) as client:
        yield client


def add_answer(client: TestClient, world: World, learner: str, name: str, text: str, key: str | None = None) -> int:
    answer = client.post(
        f"/api/v1/exams/{world.exam_a}/answers",
        json={"learner_id": learner, "learner_name": name, "title": "Эссе 1", "text": text},
        headers={"Authorization": f"Bearer {key or world.key_a}"},
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def with_script(text: str) -> str:
    """The text with a script tag among its words (an answer is the learner's untrusted input)."""
    words = text.split(" ")
    middle = len(words) // 3
    return " ".join([*words[:middle], SCRIPT, *words[middle:]])


def answers(client: TestClient, world: World) -> dict[str, int]:
    """An original, a changed copy of it holding a script tag, an honest Russian answer, and one hiding its text
    behind Latin look-alikes."""
    made = {"original": add_answer(client, world, "S-001", "Айгерім Нұрланқызы", KK[4].text)}
    copied = with_script(change_words(KK[4].text, 0.2, 7, vocabulary(KK[4])))
    made["copy"] = add_answer(client, world, "S-002", "Иван Петров", copied)
    made["honest"] = add_answer(client, world, "S-003", "Асқар Серікұлы", RU[3].text)
    made["mixed"] = add_answer(client, world, "S-004", "Дәурен Ахметов", mix_alphabets(KK[6].text, 3))
    return made


def ledger_records(world: World, kind: str) -> list[dict[str, Any]]:
    engine = make_engine(world.settings.db_url)
    try:
        with engine.connect() as db:
            rows = db.execute(select(EntryRow.payload).where(EntryRow.kind == kind).order_by(EntryRow.index)).all()
    finally:
        engine.dispose()
    return [json.loads(bytes(row.payload)) for row in rows]


def report_url(answer_id: int) -> str:
    return f"/desk/answers/{answer_id}/material"


def test_the_list_puts_findings_first_and_the_report_shows_marked_passages(app: TestClient, world: World) -> None:
    made = answers(app, world)
    sign_in(app, world.examiner_a.email)
    exam_page = app.get(f"/desk/exams/{world.exam_a}", headers=HTML)
    assert f'href="/desk/exams/{world.exam_a}/material"' in exam_page.text

    listed = app.get(f"/desk/exams/{world.exam_a}/material?lang=en", headers=HTML)
    assert listed.status_code == 200, listed.text
    order = [int(found) for found in re.findall(r'data-answer-id="(\d+)"', listed.text)]
    assert sorted(order) == sorted(made.values())
    with_findings = re.findall(r'data-answer-id="(\d+)" data-findings="([^"]*)"', listed.text)
    assert {int(a) for a, _ in with_findings} == {made["copy"], made["original"], made["mixed"]}
    assert order.index(made["honest"]) == 3  # no finding: last
    assert "mixed_alphabets" in dict(with_findings)[str(made["mixed"])]
    assert f'href="{report_url(made["copy"])}"' in listed.text

    page = app.get(report_url(made["copy"]) + "?lang=en", headers=HTML)
    assert page.status_code == 200, page.text
    text = page.text
    assert "Content-Security-Policy" in page.headers and "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert 'data-finding="copy"' in text
    assert f'data-source-id="{made["original"]}"' in text and 'data-source-kind="answer"' in text
    assert 'data-side="answer"' in text and 'data-side="source"' in text and 'data-passage="1"' in text
    assert text.count("<mark>") > 3  # the same words, marked on both sides
    assert '<ins class="changed">' in text and '<del class="changed">' in text  # the words the copier changed
    assert "<script>alert" not in text and "script&gt;alert(&#39;көшірме&#39;)&lt;/script" in text  # escaped, marked
    assert catalog("en").text("desk.material.source_answer", learner="Айгерім Нұрланқызы") in text
    assert 'action="/desk/answers/' in text and 'name="csrf_token"' in text

    hidden = app.get(report_url(made["mixed"]), headers=HTML).text
    assert 'id="mixed"' in hidden and 'data-finding="mixed_alphabets"' in hidden
    assert re.search(r'<code>[^<]*<mark class="latin">[a-z]+</mark>', hidden)  # a mixed word, its Latin letters marked
    honest = app.get(report_url(made["honest"]) + "?lang=kk", headers=HTML).text
    assert catalog("kk").text("desk.material.no_sources") in honest
    assert catalog("kk").text("desk.material.nothing_to_decide") in honest
    for language in LANGUAGES:
        shown = app.get(report_url(made["copy"]) + f"?lang={language}", headers=HTML).text
        assert catalog(language).text("desk.material.legend_changed") in shown
        assert catalog(language).text("desk.material.confirm") in shown


def test_a_decision_through_the_form_is_a_ledger_record(app: TestClient, world: World) -> None:
    made = answers(app, world)
    csrf = sign_in(app, world.examiner_a.email)
    url = report_url(made["copy"]) + "/decisions"
    refused = app.post(url, data={"finding": "copy", "action": "confirmed"}, headers=HTML, follow_redirects=False)
    assert refused.status_code == 403
    wrong = {"finding": "copy", "action": "confirmed", "csrf_token": "not-the-token"}
    assert app.post(url, data=wrong, headers=HTML, follow_redirects=False).status_code == 403
    assert ledger_records(world, "material_decision") == []

    form = {"finding": "copy", "action": "confirmed", "note": "Бір эссе <b>екі рет</b>", "csrf_token": csrf}
    done = app.post(url, data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == report_url(made["copy"]) + "#decisions"
    (record,) = ledger_records(world, "material_decision")
    assert record["answer"] == made["copy"] and record["finding"] == "copy" and record["action"] == "confirmed"
    assert record["examiner"] == RUSSIAN_EXAMINER and record["examiner_id"] == world.examiner_a.id
    assert record["note"] == "Бір эссе <b>екі рет</b>" and record["sources"][0]["text"] == made["original"]

    page = app.get(report_url(made["copy"]) + "?lang=ru", headers=HTML).text
    assert '<li data-finding="copy" data-decision="confirmed">' in page
    assert "&lt;b&gt;екі рет&lt;/b&gt;" in page and "<b>екі рет" not in page
    assert catalog("ru").text("desk.material.in_footprint") in page  # the learner's footprint got the statement

    again = {"finding": "copy", "action": "dismissed", "note": "Цитата со ссылкой", "csrf_token": csrf}
    assert app.post(url, data=again, follow_redirects=False).status_code == 303
    assert [r["action"] for r in ledger_records(world, "material_decision")] == ["confirmed", "dismissed"]
    page = app.get(report_url(made["copy"]), headers=HTML).text
    assert '<li data-finding="copy" data-decision="dismissed">' in page
    assert page.count('<li data-action="') == 2  # the history keeps both

    not_shown = {"finding": "mixed_alphabets", "action": "confirmed", "csrf_token": csrf}
    conflict = app.post(url, data=not_shown, headers=HTML, follow_redirects=False)
    assert conflict.status_code == 409 and catalog("ru").text("desk.material.error_no_finding") in conflict.text
    nonsense = {"finding": "copy", "action": "deleted", "csrf_token": csrf}
    assert app.post(url, data=nonsense, headers=HTML, follow_redirects=False).status_code == 422
    assert len(ledger_records(world, "material_decision")) == 2

    mixed = {"finding": "mixed_alphabets", "action": "confirmed", "csrf_token": csrf}
    assert app.post(report_url(made["mixed"]) + "/decisions", data=mixed, follow_redirects=False).status_code == 303
    assert ledger_records(world, "material_decision")[-1]["finding"] == "mixed_alphabets"


def test_only_the_exams_reviewers_see_its_answers(app: TestClient, world: World) -> None:
    made = answers(app, world)
    source = app.post(
        "/api/v1/material/sources",
        json={"title": "Оқулық", "text": KK[2].text},
        headers={"Authorization": f"Bearer {world.key_a}"},
    ).json()["id"]
    urls = [f"/desk/exams/{world.exam_a}/material", report_url(made["copy"])]
    anonymous = fresh(app)
    for url in urls:
        assert anonymous.get(url, headers=HTML).status_code == 403
    for person in (world.examiner_b, world.admin_b, world.idle_examiner_a):
        browser = fresh(app)
        csrf = sign_in(browser, person.email)
        for url in urls:
            assert browser.get(url, headers=HTML).status_code == 404, (person.email, url)
        form = {"finding": "copy", "action": "confirmed", "csrf_token": csrf}
        posted = browser.post(report_url(made["copy"]) + "/decisions", data=form, headers=HTML)
        assert posted.status_code == 404
    assert ledger_records(world, "material_decision") == []
    admin = fresh(app)
    sign_in(admin, world.admin_a.email)
    for url in urls:
        assert admin.get(url, headers=HTML).status_code == 200
    assert admin.get(report_url(source), headers=HTML).status_code == 404  # a reference source has no report
    assert admin.get(report_url(10**9), headers=HTML).status_code == 404
