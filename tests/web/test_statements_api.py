"""The Statements resource over HTTP: status codes, headers, idempotency, voiding, paging, auth, errors."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from tests.web.conftest import KEY, statement

URL = "/xapi/statements"


def _error_code(response: object) -> str:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return str(body["error"]["code"])


def test_post_put_get_with_headers(client: TestClient) -> None:
    posted = client.post(URL, json=[statement(), statement(actor="bob")])
    assert posted.status_code == 200 and len(posted.json()) == 2
    assert posted.headers["X-Experience-API-Version"] == "1.0.3"
    sid = str(uuid.uuid4())
    put = client.put(URL, params={"statementId": sid}, json=statement())
    assert put.status_code == 204
    got = client.get(URL, params={"statementId": sid})
    assert got.status_code == 200 and got.json()["id"] == sid
    assert "X-Experience-API-Consistent-Through" in got.headers
    assert got.json()["authority"]["account"]["homePage"].startswith("https://proctor.kz/credentials/")
    v2 = client.get(URL, params={"statementId": sid}, headers={"X-Experience-API-Version": "2.0.0"})
    assert v2.headers["X-Experience-API-Version"] == "2.0.0"


def test_idempotency_and_conflict(client: TestClient) -> None:
    sid = str(uuid.uuid4())
    assert client.put(URL, params={"statementId": sid}, json=statement()).status_code == 204
    assert client.put(URL, params={"statementId": sid}, json=statement()).status_code == 204
    assert client.post(URL, json=statement(id=sid)).json() == [sid]
    conflict = client.put(URL, params={"statementId": sid}, json=statement(verb="failed"))
    assert conflict.status_code == 409 and _error_code(conflict) == "conflict"


def test_batch_with_duplicate_ids_is_400_and_stores_nothing(client: TestClient) -> None:
    sid = str(uuid.uuid4())
    response = client.post(URL, json=[statement(id=sid), statement(id=sid, actor="bob")])
    assert response.status_code == 400
    assert client.get(URL, params={"statementId": sid}).status_code == 404


def test_invalid_statement_and_parameters(client: TestClient) -> None:
    bad = client.post(URL, json={"actor": {"mbox": "ann@example.kz"}, "verb": {"id": "x:y"}, "object": {"id": "a:b"}})
    assert bad.status_code == 400 and "mailto" in bad.json()["error"]["message"]
    assert client.get(URL, params={"statementId": str(uuid.uuid4()), "verb": "x:y"}).status_code == 400
    assert client.get(URL, params={"nonsense": "1"}).status_code == 400
    assert client.get(URL, headers={"X-Experience-API-Version": "0.9"}).status_code == 400
    missing = client.get(URL, headers={"X-Experience-API-Version": ""})
    assert missing.status_code == 400


def test_authentication(client: TestClient) -> None:
    anonymous = client.get(URL, headers={"Authorization": ""})
    assert anonymous.status_code == 401 and _error_code(anonymous) == "unauthorized"
    assert "WWW-Authenticate" in anonymous.headers
    assert client.get(URL, headers={"Authorization": "Bearer wrong-key"}).status_code == 401
    basic = base64.b64encode(f"any-lms:{KEY}".encode()).decode()
    assert client.get(URL, headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert client.get("/xapi/about", headers={"Authorization": ""}).status_code == 200


def test_voiding(client: TestClient) -> None:
    target = client.post(URL, json=statement()).json()[0]
    void = {
        "actor": statement()["actor"],
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": target},
    }
    assert client.post(URL, json=void).status_code == 200
    assert client.get(URL, params={"statementId": target}).status_code == 404
    assert client.get(URL, params={"voidedStatementId": target}).json()["id"] == target


def test_query_paging_with_more(client: TestClient) -> None:
    client.post(URL, json=[statement(actor="pager", activity=f"p{i}") for i in range(7)])
    agent = json.dumps({"mbox": "mailto:pager@example.kz"})
    seen: list[str] = []
    page = client.get(URL, params={"agent": agent, "limit": 3}).json()
    while True:
        seen += [s["id"] for s in page["statements"]]
        if not page["more"]:
            break
        page = client.get(page["more"]).json()
    assert len(seen) == len(set(seen)) == 7


def test_attachments_multipart_round_trip(client: TestClient) -> None:
    content = b"evidence frame bytes"
    sha2 = hashlib.sha256(content).hexdigest()
    data = statement(
        attachments=[
            {
                "usageType": "https://proctor.kz/attachments/evidence",
                "display": {"en-US": "evidence"},
                "contentType": "application/octet-stream",
                "length": len(content),
                "sha2": sha2,
            }
        ]
    )
    boundary = "xyzBOUNDARY"
    body = (
        (
            f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{json.dumps(data)}\r\n"
            f"--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
            f"X-Experience-API-Hash: {sha2}\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/mixed; boundary={boundary}"}
    sid = client.post(URL, content=body, headers=headers).json()[0]
    got = client.get(URL, params={"statementId": sid, "attachments": "true"})
    assert got.headers["content-type"].startswith("multipart/mixed") and content in got.content
    tampered = body.replace(b"evidence frame", b"evidence FRAME")
    assert client.post(URL, content=tampered, headers=headers).status_code == 400
    assert client.post(URL, json=data).status_code == 400  # content missing


def test_errors_share_one_shape(client: TestClient) -> None:
    assert _error_code(client.get("/no/such/path")) == "not_found"
    assert _error_code(client.delete(URL)) == "method_not_allowed"
    assert _error_code(client.get("/ledger/proof/consistency", params={"first": "x"})) == "invalid_request"


def test_concurrent_puts_of_one_statement_all_succeed(client: TestClient) -> None:
    sid = str(uuid.uuid4())
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(
            pool.map(lambda _: client.put(URL, params={"statementId": sid}, json=statement()).status_code, range(6))
        )
    assert codes == [204] * 6
    stored = client.get(URL, params={"agent": json.dumps(statement()["actor"]), "limit": 100}).json()["statements"]
    assert [s["id"] for s in stored] == [sid]  # exactly one copy
