"""Hostile JSON and text get a clear 400/413 and store nothing: deep nesting, NUL characters, bad forms."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from footprint import jsonlimits
from tests.web.conftest import HEADERS, statement

URL = "/xapi/statements"
DEEP = "[" * 3000 + "]" * 3000
STATE = {"activityId": "https://proctor.kz/activities/exam-1", "agent": json.dumps({"mbox": "mailto:a@b.kz"})}


def _deep_statement() -> str:
    data = json.dumps(statement(result={"extensions": {"https://proctor.kz/x": "HOLE"}}))
    return data.replace('"HOLE"', DEEP)


def _message(response: object) -> str:
    return str(response.json()["error"]["message"])  # type: ignore[attr-defined]


def test_deep_json_is_refused_with_400_everywhere_it_enters(client: TestClient) -> None:
    sid = str(uuid.uuid4())
    body = _deep_statement()
    json_type = {"Content-Type": "application/json"}
    for answer in (
        client.post(URL, content=body, headers=json_type),
        client.put(URL, params={"statementId": sid}, content=body, headers=json_type),
        client.put("/xapi/activities/state", params={**STATE, "stateId": "s"}, content=DEEP, headers=json_type),
        client.post("/xapi/activities/state", params={**STATE, "stateId": "s"}, content=DEEP, headers=json_type),
        client.get(URL, params={"agent": DEEP}),
    ):
        assert answer.status_code == 400, answer.text
        assert "deeper than" in _message(answer)
    # the connection and the server are fine afterwards, and nothing was stored
    assert client.get(URL, params={"statementId": sid}).status_code == 404
    assert client.get("/xapi/activities/state", params=STATE).json() == []
    # 65 levels is too deep, 64 is accepted
    limit = jsonlimits.MAX_DEPTH
    at_limit = json.dumps(statement(result={"extensions": {"https://proctor.kz/x": "HOLE"}}))
    # the statement itself takes 3 levels above the extension value
    ok = at_limit.replace('"HOLE"', "[" * (limit - 3) + "]" * (limit - 3))
    assert client.post(URL, content=ok, headers=json_type).status_code == 200
    too_deep = at_limit.replace('"HOLE"', "[" * (limit - 2) + "]" * (limit - 2))
    assert client.post(URL, content=too_deep, headers=json_type).status_code == 400


def test_deep_json_in_the_college_api_is_400(client: TestClient) -> None:
    body = json.dumps({"title": "Exam", "attestation": "final", "policy": {"x": "HOLE"}}).replace('"HOLE"', DEEP)
    answer = client.post("/api/v1/exams", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "deeper than" in _message(answer)


@pytest.mark.parametrize(
    "text", ["Final\x00exam", "Final\u0007exam", "Final\nexam", "Final\u0085exam"], ids=["nul", "bell", "lf", "nel"]
)
def test_control_characters_in_names_and_titles_are_400(client: TestClient, text: str) -> None:
    answer = client.post("/api/v1/exams", json={"title": text, "attestation": "final"})
    assert answer.status_code == 400
    assert "control characters" in _message(answer) or "NUL" in _message(answer)
    assert client.get("/api/v1/exams").json()["items"] == []


def test_nul_in_xapi_is_400_and_stores_nothing(client: TestClient) -> None:
    named = statement()
    named["actor"]["name"] = "Ann\x00"
    assert client.post(URL, json=named).status_code == 400
    assert "NUL" in _message(client.post(URL, json=named))
    key = statement()
    key["actor"] = {"account": {"homePage": "https://lms.kz", "name": "a\x00b"}}
    assert client.post(URL, json=key).status_code == 400
    params = {**STATE, "stateId": "a\x00b"}
    assert client.put("/xapi/activities/state", params=params, json={"a": 1}).status_code == 400
    document = {**STATE, "stateId": "doc"}
    json_type = {"Content-Type": "application/json"}
    answer = client.put("/xapi/activities/state", params=document, content=b'{"a": "\\u0000"}', headers=json_type)
    assert answer.status_code == 400
    assert client.get(URL).json()["statements"] == []
    assert client.get("/xapi/activities/state", params=STATE).json() == []


def test_alternate_syntax_bad_utf8_and_oversized_forms(client: TestClient) -> None:
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    bad = b"content=%FF%FE&X-Experience-API-Version=1.0.3&Authorization=" + HEADERS["Authorization"].encode()
    answer = client.post(f"{URL}?method=POST", content=bad, headers=form_type)
    assert answer.status_code == 400 and "UTF-8" in _message(answer)
    header = urlencode({"content": json.dumps(statement()), "If-Match": "ключ", "statementId": str(uuid.uuid4())})
    assert client.post(f"{URL}?method=PUT", content=header, headers=form_type).status_code == 400
    huge = urlencode({"content": json.dumps(statement()), "padding": "x" * (16 * 1024 * 1024)})
    answer = client.post(f"{URL}?method=PUT", content=huge, headers=form_type)
    assert answer.status_code == 413, answer.text
    assert client.get(URL).json()["statements"] == []
