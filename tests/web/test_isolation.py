"""Two colleges on one platform: every xAPI resource and every ledger endpoint keeps each college's records its own."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

import pytest
import rfc8785
from fastapi.testclient import TestClient

from footprint.accounts import ALL_SCOPES, issue_key_for
from footprint.ledger.checkpoint import verify
from footprint.ledger.merkle import InclusionProof, leaf_hash, verify_inclusion
from footprint.store import make_engine, make_session_factory
from tests.web.conftest import statement
from web.settings import Settings

URL = "/xapi/statements"
AGENT = json.dumps({"mbox": "mailto:ann@example.kz"})
ACTIVITY = "https://proctor.kz/activities/exam-1"


@pytest.fixture
def other(client: TestClient, settings: Settings) -> dict[str, str]:
    """Headers of a key of another college (issued as `python -m web issue-key "Other College" lms` does)."""
    engine = make_engine(settings.db_url)
    try:
        with make_session_factory(engine).begin() as session:
            secret = issue_key_for(session, "Other College", "lms", ALL_SCOPES, new_college=True).secret
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


def _attachment_statement(content: bytes) -> tuple[bytes, str]:
    sha2 = hashlib.sha256(content).hexdigest()
    meta = {"usageType": "https://proctor.kz/evidence", "display": {"en-US": "e"}, "contentType": "text/plain"}
    data = statement(
        activity="exam-1",
        context={"registration": str(uuid.uuid4())},
        attachments=[{**meta, "length": len(content), "sha2": sha2}],
    )
    data["object"]["definition"] = {"name": {"en-US": "Final exam of the first college"}}
    boundary = "b0undary"
    body = (
        (
            f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{json.dumps(data)}\r\n"
            f"--{boundary}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
            f"X-Experience-API-Hash: {sha2}\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/mixed; boundary={boundary}"


def test_statements_are_read_queried_and_paged_by_their_college_only(client: TestClient, other: dict[str, str]) -> None:
    secret = b"the first college's evidence"
    body, content_type = _attachment_statement(secret)
    posted = client.post(URL, content=body, headers={"Content-Type": content_type})
    assert posted.status_code == 200, posted.text
    first_id = posted.json()[0]
    mine = client.get(URL, params={"statementId": first_id}).json()
    registration = mine["context"]["registration"]
    client.post(URL, json=[statement(activity=f"q{i}") for i in range(3)])

    assert client.get(URL, params={"statementId": first_id}, headers=other).status_code == 404
    assert client.get(URL, params={"voidedStatementId": first_id}, headers=other).status_code == 404
    for params in ({}, {"registration": registration}, {"agent": AGENT}, {"activity": ACTIVITY}, {"limit": 1}):
        page = client.get(URL, params=params, headers=other)
        assert page.status_code == 200 and page.json()["statements"] == [], params
    attached = client.get(URL, params={"attachments": "true"}, headers=other)
    assert secret not in attached.content

    # a `more` link of the first college's query gives the other college nothing of the first
    more = client.get(URL, params={"limit": 1}).json()["more"]
    assert more
    assert client.get(more, headers=other).json()["statements"] == []
    assert client.get(more).json()["statements"]

    # the other college's own statements are its own, even under the same id
    assert (
        client.put(URL, params={"statementId": first_id}, json=statement(verb="failed"), headers=other).status_code
        == 204
    )
    theirs = client.get(URL, params={"statementId": first_id}, headers=other).json()
    assert theirs["verb"]["id"].endswith("/failed")
    assert client.get(URL, params={"statementId": first_id}).json()["verb"]["id"].endswith("/answered")
    assert [s["id"] for s in client.get(URL, headers=other).json()["statements"]] == [first_id]


def test_a_college_voids_only_its_own_statements(client: TestClient, other: dict[str, str]) -> None:
    target = client.post(URL, json=statement()).json()[0]
    void = {
        "actor": statement()["actor"],
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": target},
    }
    assert client.post(URL, json=void, headers=other).status_code == 200
    assert client.get(URL, params={"statementId": target}).status_code == 200
    assert client.get(URL, params={"voidedStatementId": target}).status_code == 404
    assert client.post(URL, json=void).status_code == 200  # the owner can
    assert client.get(URL, params={"statementId": target}).status_code == 404
    assert client.get(URL, params={"voidedStatementId": target}).json()["id"] == target


@pytest.mark.parametrize(
    ("url", "params", "listing"),
    [
        (
            "/xapi/activities/state",
            {"activityId": ACTIVITY, "agent": AGENT, "stateId": "progress"},
            {"activityId": ACTIVITY, "agent": AGENT},
        ),
        ("/xapi/activities/profile", {"activityId": ACTIVITY, "profileId": "rules"}, {"activityId": ACTIVITY}),
        ("/xapi/agents/profile", {"agent": AGENT, "profileId": "prefs"}, {"agent": AGENT}),
    ],
)
def test_documents_are_their_colleges_own(
    client: TestClient, other: dict[str, str], url: str, params: dict[str, str], listing: dict[str, str]
) -> None:
    create = {"If-None-Match": "*"}
    assert client.put(url, params=params, json={"grade": "secret"}, headers=create).status_code == 204
    assert client.get(url, params=params, headers=other).status_code == 404
    assert client.get(url, params=listing, headers=other).json() == []
    # the other college writes in the same scope: it creates its own document, the first one is untouched
    assert client.put(url, params=params, json={"grade": "theirs"}, headers={**other, **create}).status_code == 204
    assert client.post(url, params=params, json={"note": "merged"}, headers=other).status_code == 204
    assert client.get(url, params=params, headers=other).json() == {"grade": "theirs", "note": "merged"}
    assert client.get(url, params=params).json() == {"grade": "secret"}
    etag = client.get(url, params=params, headers=other).headers["ETag"]
    assert client.delete(url, params=params, headers={**other, "If-Match": etag}).status_code == 204
    if url.endswith("/state"):
        assert client.delete(url, params=listing, headers=other).status_code == 204  # every state in scope
    assert client.get(url, params=params).json() == {"grade": "secret"}
    assert client.get(url, params=listing).json() == [params.get("stateId") or params["profileId"]]


def test_activity_definitions_are_their_colleges_own(client: TestClient, other: dict[str, str]) -> None:
    data = statement(activity="exam-1")
    data["object"]["definition"] = {"name": {"en-US": "Final exam"}, "description": {"en-US": "answers inside"}}
    assert client.post(URL, json=data).status_code == 200
    assert client.get("/xapi/activities", params={"activityId": ACTIVITY}).json()["definition"]["name"] == {
        "en-US": "Final exam"
    }
    theirs = client.get("/xapi/activities", params={"activityId": ACTIVITY}, headers=other).json()
    assert theirs == {"objectType": "Activity", "id": ACTIVITY}
    assert client.get("/xapi/agents", params={"agent": AGENT}, headers=other).status_code == 200  # stores nothing
    assert client.get("/xapi/about", headers={"Authorization": ""}).status_code == 200


def test_ledger_proofs_with_content_go_to_the_owner_only(client: TestClient, other: dict[str, str]) -> None:
    ids = client.post(URL, json=[statement(activity=f"q{i}") for i in range(4)]).json()
    anonymous = {"Authorization": ""}
    public_key = client.get("/ledger/public-key", headers=anonymous).text.strip()
    assert client.get("/ledger/public-key", headers=other).text.strip() == public_key
    checkpoint = verify(client.get("/ledger/checkpoint", headers=anonymous).text, public_key)
    assert verify(client.get("/ledger/checkpoint", headers=other).text, public_key) == checkpoint

    params = {"statementId": ids[2], "treeSize": checkpoint.tree_size}
    owned = client.get("/ledger/proof/inclusion", params=params)
    assert owned.status_code == 200 and "leaf" in owned.json()
    refused = client.get("/ledger/proof/inclusion", params=params, headers=other)
    assert refused.status_code == 404 and "leaf" not in refused.text
    assert client.get("/ledger/proof/inclusion", params=params, headers=anonymous).status_code == 401

    # whoever holds the statement gets a content-free proof by its leaf hash, with or without a key
    held = client.get(URL, params={"statementId": ids[2]}).json()
    leaf = leaf_hash(rfc8785.dumps(held))
    for headers in (anonymous, other):
        for encoded in (leaf.hex(), base64.b64encode(leaf).decode()):
            answer = client.get(
                "/ledger/proof/inclusion",
                params={"leafHash": encoded, "treeSize": checkpoint.tree_size},
                headers=headers,
            )
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            assert "leaf" not in body and "statementId" not in body
            verify_inclusion(InclusionProof.from_json(body), leaf, checkpoint.root_hash)
    unknown = client.get("/ledger/proof/inclusion", params={"leafHash": "00" * 32}, headers=anonymous)
    assert unknown.status_code == 404
    assert client.get("/ledger/proof/inclusion", params={"leafHash": "xyz"}, headers=anonymous).status_code == 400
    both = client.get("/ledger/proof/inclusion", params={"leafHash": leaf.hex(), "statementId": ids[2]})
    assert both.status_code == 400
    consistency = client.get("/ledger/proof/consistency", params={"first": 1}, headers=anonymous)
    assert consistency.status_code == 200 and set(consistency.json()) == {"first", "second", "proof"}
