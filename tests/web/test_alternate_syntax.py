"""xAPI 1.0.3 Alternate Request Syntax (POST ?method=X with a form), and its refusal in xAPI 2.0."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

from fastapi.testclient import TestClient

from tests.web.conftest import HEADERS, statement

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_put_through_form(client: TestClient) -> None:
    sid = str(uuid.uuid4())
    form = {
        "statementId": sid,
        "content": json.dumps(statement()),
        "Authorization": HEADERS["Authorization"],
        "X-Experience-API-Version": "1.0.3",
    }
    bare = {"Authorization": "", "X-Experience-API-Version": ""}
    response = client.post("/xapi/statements?method=PUT", content=urlencode(form), headers={**FORM, **bare})
    assert response.status_code == 204
    assert client.get("/xapi/statements", params={"statementId": sid}).status_code == 200


def test_refusals(client: TestClient) -> None:
    form = urlencode({"statementId": str(uuid.uuid4()), "content": json.dumps(statement())})
    assert client.put("/xapi/statements?method=PUT", content=form, headers=FORM).status_code == 400
    extra = "/xapi/statements?method=PUT&statementId=" + str(uuid.uuid4())
    assert client.post(extra, content=form, headers=FORM).status_code == 400
    v2 = {**FORM, "X-Experience-API-Version": "2.0.0"}
    assert client.post("/xapi/statements?method=PUT", content=form, headers=v2).status_code == 400
