"""State, Activity Profile and Agent Profile resources: ETags, concurrency, merge, lists; Activities and Agents."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.web.conftest import statement

AGENT = json.dumps({"mbox": "mailto:ann@example.kz"})
ACTIVITY = "https://proctor.kz/activities/exam-1"


def test_state_put_post_merge_get_delete(client: TestClient) -> None:
    params = {"activityId": ACTIVITY, "agent": AGENT, "stateId": "progress"}
    assert client.put("/xapi/activities/state", params=params, json={"page": 1}).status_code == 204
    assert client.post("/xapi/activities/state", params=params, json={"answers": 3}).status_code == 204
    got = client.get("/xapi/activities/state", params=params)
    assert got.json() == {"page": 1, "answers": 3} and got.headers["ETag"].startswith('"')
    listing = {"activityId": ACTIVITY, "agent": AGENT}
    assert client.get("/xapi/activities/state", params=listing).json() == ["progress"]
    assert client.delete("/xapi/activities/state", params=listing).status_code == 204
    assert client.get("/xapi/activities/state", params=params).status_code == 404
    assert client.get("/xapi/activities/state", params={"activityId": ACTIVITY}).status_code == 400


def test_profile_concurrency(client: TestClient) -> None:
    params = {"activityId": ACTIVITY, "profileId": "rules"}
    url = "/xapi/activities/profile"
    assert client.put(url, params=params, json={"v": 1}).status_code == 400  # no precondition on create
    assert client.put(url, params=params, json={"v": 1}, headers={"If-None-Match": "*"}).status_code == 204
    etag = client.get(url, params=params).headers["ETag"]
    assert client.put(url, params=params, json={"v": 2}).status_code == 409
    assert client.put(url, params=params, json={"v": 2}, headers={"If-Match": '"stale"'}).status_code == 412
    assert client.put(url, params=params, json={"v": 2}, headers={"If-Match": etag}).status_code == 204
    assert client.get(url, params=params).json() == {"v": 2}
    agent_url = "/xapi/agents/profile"
    agent_params = {"agent": AGENT, "profileId": "prefs"}
    assert client.post(agent_url, params=agent_params, json={"lang": "kk"}).status_code == 204
    assert client.get(agent_url, params={"agent": AGENT}).json() == ["prefs"]


def test_post_merge_refuses_non_json(client: TestClient) -> None:
    params = {"activityId": ACTIVITY, "agent": AGENT, "stateId": "blob"}
    headers = {"Content-Type": "application/octet-stream"}
    assert client.put("/xapi/activities/state", params=params, content=b"\x00\x01", headers=headers).status_code == 204
    assert client.post("/xapi/activities/state", params=params, json={"a": 1}).status_code == 400


def test_activities_and_agents(client: TestClient) -> None:
    data = statement(activity="exam-1")
    data["object"]["definition"] = {"name": {"en-US": "Final exam"}}
    assert client.post("/xapi/statements", json=data).status_code == 200
    activity = client.get("/xapi/activities", params={"activityId": ACTIVITY}).json()
    assert activity["definition"]["name"] == {"en-US": "Final exam"}
    person = client.get("/xapi/agents", params={"agent": AGENT}).json()
    assert person == {"objectType": "Person", "mbox": ["mailto:ann@example.kz"]}
    about = client.get("/xapi/about").json()
    assert about["version"] == ["1.0.3", "2.0.0"]
