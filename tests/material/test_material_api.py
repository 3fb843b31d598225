"""The foreign-material API end to end: answers of an exam (text, .txt, .docx, and Moodle essays from the LRS) and
reference sources built from the orders in ../shared/law; the report of each answer with its passages, as JSON and
CSV; the examiner's decision in the ledger and, when confirmed, in the learner's footprint; and two colleges that
never see each other's texts."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pytest
from fastapi.testclient import TestClient

from footprint.accounts import ALL_SCOPES, create_college, issue_key
from footprint.store import make_engine
from tests.material.corpus import change_words, mix_alphabets, sections, to_latin, vocabulary
from web.app import create_app
from web.settings import load_settings

KEY = "material-bootstrap-key-0123456789"
XAPI = {"X-Experience-API-Version": "1.0.3"}
KK = sections("order-349-2023-as-amended-by-103-2025-kk.txt")
RU = sections("order-349-2023-ru.txt")


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings({}, data_dir=tmp_path / "data", database_url=db_url, bootstrap_api_key=KEY)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def other_college_key(db_url: str) -> str:
    from sqlalchemy.orm import Session

    engine = make_engine(db_url)
    with engine.begin() as connection, Session(bind=connection) as db:
        college = create_college(db, "Another College")
        secret = issue_key(db, college, "their LMS", scopes=ALL_SCOPES).secret
        db.commit()
    engine.dispose()
    return secret


def exam(client: TestClient, key: str = KEY, policy: dict[str, Any] | None = None) -> str:
    body: dict[str, Any] = {"title": "Қашықтан оқыту: эссе", "attestation": "final"}
    if policy is not None:
        body["policy"] = policy
    response = client.post("/api/v1/exams", json=body, headers=auth(key))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def answer(client: TestClient, exam_id: str, learner: str, text: str, key: str = KEY) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/exams/{exam_id}/answers",
        json={"learner_id": learner, "learner_name": f"Learner {learner}", "title": "Essay 1", "text": text},
        headers=auth(key),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def report(client: TestClient, answer_id: int, key: str = KEY) -> dict[str, Any]:
    response = client.get(f"/api/v1/answers/{answer_id}/material", headers=auth(key))
    assert response.status_code == 200, response.text
    return dict(response.json())


def docx_bytes(text: str) -> bytes:
    document = docx.Document()
    for paragraph in text.split("\n\n"):
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_copies_in_an_exam_and_from_the_corpus_are_reported_with_their_passages(client: TestClient) -> None:
    exam_id = exam(client)
    source = client.post(
        "/api/v1/material/sources", json={"title": "Оқулық, 3-тарау", "text": KK[2].text}, headers=auth()
    )
    assert source.status_code == 201, source.text
    original = answer(client, exam_id, "S-1", KK[4].text)
    copied = answer(client, exam_id, "S-2", change_words(KK[4].text, 0.2, 7, vocabulary(KK[4])))
    latin = answer(client, exam_id, "S-3", to_latin(KK[2].text))
    mixed = answer(client, exam_id, "S-4", mix_alphabets(KK[6].text, 3))
    honest = answer(client, exam_id, "S-5", RU[3].text)
    assert copied["language"] == "kk" and honest["language"] == "ru" and latin["language"] == "kk"

    found = report(client, copied["id"])
    assert found["findings"] == ["copy"] and found["share"] >= 0.9
    assert found["sources"][0]["text"]["id"] == original["id"]
    assert found["sources"][0]["text"]["learner_id"] == "S-1"
    passage = found["sources"][0]["passages"][0]
    changed = [p for p in passage["answer"]["pieces"] if p["kind"] != "equal"]
    assert changed, "the changed words are marked"
    excerpt = passage["source"]["excerpt"]
    assert passage["source"]["excerpt_start"] + len(excerpt) >= passage["source"]["end"]

    from_corpus = report(client, latin["id"])
    assert from_corpus["findings"] == ["copy"] and from_corpus["share"] >= 0.95
    assert from_corpus["sources"][0]["text"]["kind"] == "source"
    assert from_corpus["folding"]["latin_kazakh_words"] > 50

    hidden = report(client, mixed["id"])
    assert "mixed_alphabets" in hidden["findings"] and hidden["folding"]["mixed_words"] > 20
    assert report(client, honest["id"])["findings"] == []

    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/api/v1/answers/{copied['id']}/material.csv", headers=auth()).text))
    )
    assert rows and rows[0]["source_id"] == str(original["id"]) and rows[0]["answer_passage"]

    listed = client.get(f"/api/v1/exams/{exam_id}/answers?limit=2", headers=auth()).json()
    assert listed["total"] == 5 and len(listed["items"]) == 2 and listed["next"]


def test_a_confirmed_finding_is_in_the_ledger_and_the_learners_footprint(client: TestClient) -> None:
    exam_id = exam(client)
    answer(client, exam_id, "S-1", RU[1].text)
    copied = answer(client, exam_id, "S-2", change_words(RU[1].text, 0.1, 3, vocabulary(RU[1])))
    body = {"finding": "copy", "action": "confirmed", "examiner": "Ольга Смирнова", "note": "Сдано дважды"}
    decided = client.post(f"/api/v1/answers/{copied['id']}/material/decisions", json=body, headers=auth())
    assert decided.status_code == 201, decided.text
    decision = decided.json()
    assert decision["statement_id"] and decision["ledger_index"] >= 0 and decision["share"] >= 0.9
    statement = client.get(f"/xapi/statements?statementId={decision['statement_id']}", headers={**XAPI, **auth()})
    assert statement.status_code == 200, statement.text
    assert statement.json()["actor"]["account"]["name"] == "S-2"
    assert statement.json()["verb"]["id"].endswith("/foreign-material-found")
    proof = client.get(f"/ledger/proof/inclusion?statementId={decision['statement_id']}", headers=auth())
    assert proof.status_code == 200, proof.text

    dismissed = client.post(
        f"/api/v1/answers/{copied['id']}/material/decisions",
        json={**body, "action": "dismissed", "note": "an agreed group work"},
        headers=auth(),
    )
    assert dismissed.status_code == 201 and dismissed.json()["statement_id"] is None
    assert dismissed.json()["ledger_index"] > decision["ledger_index"]
    assert [d["action"] for d in report(client, copied["id"])["decisions"]] == ["confirmed", "dismissed"]
    none = client.post(
        f"/api/v1/answers/{copied['id']}/material/decisions",
        json={**body, "finding": "mixed_alphabets"},
        headers=auth(),
    )
    assert none.status_code == 409


def test_files_are_read_and_hostile_ones_refused(client: TestClient) -> None:
    exam_id = exam(client)
    sent = client.post(
        f"/api/v1/exams/{exam_id}/answers/file",
        data={"learner_id": "S-7", "title": "Эссе"},
        files={"file": ("essay.docx", docx_bytes(KK[5].text), "application/octet-stream")},
        headers=auth(),
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["origin"] == "file" and sent.json()["words"] > 250
    source = client.post(
        "/api/v1/material/sources/file",
        data={"title": "2024 answers"},
        files={"file": ("answers.txt", KK[5].text.encode("utf-8"), "text/plain")},
        headers=auth(),
    )
    assert source.status_code == 201, source.text
    assert report(client, sent.json()["id"])["sources"][0]["text"]["id"] == source.json()["id"]

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<" + b"a" * 30_000_000 + b">")
    for name, data in (("bomb.docx", bomb.getvalue()), ("essay.exe", b"MZ"), ("broken.docx", b"not a zip")):
        refused = client.post(
            f"/api/v1/exams/{exam_id}/answers/file",
            data={"learner_id": "S-8"},
            files={"file": (name, data, "application/octet-stream")},
            headers=auth(),
        )
        assert refused.status_code in (413, 422), (name, refused.text)


def test_moodle_essays_are_imported_from_the_lrs_once(client: TestClient) -> None:
    exam_id = exam(client)
    quiz = "https://moodle.college.kz/mod/quiz/view.php?id=42"
    statements = [
        {
            "actor": {"name": f"Learner {n}", "account": {"homePage": "https://moodle.college.kz", "name": str(n)}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en": "answered"}},
            "object": {
                "id": f"https://moodle.college.kz/question/{n}",
                "definition": {"type": "http://adlnet.gov/expapi/activities/cmi.interaction", "name": {"en": "Essay"}},
            },
            "result": {"response": f"<p>{text}</p>"},
            "context": {"contextActivities": {"parent": [{"id": quiz}]}},
            "timestamp": "2026-07-13T09:00:00Z",
        }
        for n, text in ((1, RU[2].text), (2, change_words(RU[2].text, 0.1, 1, vocabulary(RU[2]))), (3, "Да"))
    ]
    stored = client.post("/xapi/statements", json=statements, headers={**XAPI, **auth()})
    assert stored.status_code == 200, stored.text
    first = client.post(f"/api/v1/exams/{exam_id}/answers/lrs-import", json={"activity_id": quiz}, headers=auth())
    assert first.status_code == 200, first.text
    assert len(first.json()["imported"]) == 2 and first.json()["skipped"] == 1
    again = client.post(f"/api/v1/exams/{exam_id}/answers/lrs-import", json={"activity_id": quiz}, headers=auth())
    assert again.json()["imported"] == [] and again.json()["already"] == 2
    second = report(client, first.json()["imported"][1])
    assert second["answer"]["origin"] == "lrs" and second["answer"]["learner_id"] == "2"
    assert second["findings"] == ["copy"] and "<p>" not in second["sources"][0]["passages"][0]["source"]["excerpt"]


def test_two_colleges_never_see_each_others_texts(client: TestClient, db_url: str) -> None:
    other = other_college_key(db_url)
    ours, theirs = exam(client), exam(client, other)
    mine = answer(client, ours, "S-1", KK[3].text)
    ours_source = client.post("/api/v1/material/sources", json={"title": "Оқулық", "text": KK[7].text}, headers=auth())
    copy = answer(client, theirs, "T-1", KK[3].text, key=other)
    copy_of_source = answer(client, theirs, "T-2", KK[7].text, key=other)
    theirs_ids = {copy["id"], copy_of_source["id"]}
    for their in theirs_ids:  # their answers match only their own texts (the order repeats itself)
        assert {source["text"]["id"] for source in report(client, their, other)["sources"]} <= theirs_ids
    assert report(client, copy["id"], other)["findings"] == []
    ours_ids = {mine["id"], ours_source.json()["id"]}
    assert {source["text"]["id"] for source in report(client, mine["id"])["sources"]} <= ours_ids
    assert client.get(f"/api/v1/answers/{mine['id']}/material", headers=auth(other)).status_code == 404
    assert client.get(f"/api/v1/exams/{ours}/answers", headers=auth(other)).status_code == 404
    refused = client.post(
        f"/api/v1/answers/{mine['id']}/material/decisions",
        json={"finding": "copy", "action": "confirmed", "examiner": "X"},
        headers=auth(other),
    )
    assert refused.status_code == 404
    assert (
        client.post(
            f"/api/v1/exams/{ours}/answers", json={"learner_id": "T-9", "text": "сөз " * 20}, headers=auth(other)
        ).status_code
        == 404
    )


def test_the_exam_policy_sets_the_thresholds(client: TestClient) -> None:
    strict = exam(client, policy={"material": {"answer_share_from": 0.95, "other_exams": False}})
    loose = exam(client)
    answer(client, loose, "S-1", RU[4].text)
    in_strict = answer(client, strict, "S-2", change_words(RU[4].text, 0.3, 5, vocabulary(RU[4])))
    assert report(client, in_strict["id"])["sources"] == []  # other exams' answers are not compared
    answer(client, strict, "S-3", RU[4].text)
    found = report(client, in_strict["id"])
    assert found["sources"] and found["answer_share_from"] == 0.95 and found["findings"] == []
    bad = client.post(
        "/api/v1/exams", json={"title": "x", "attestation": "final", "policy": {"material": {"x": 1}}}, headers=auth()
    )
    assert bad.status_code == 422
