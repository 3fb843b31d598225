"""Every route says who may call it, and a key gets only what its scopes name.

The route table is walked, so a new route cannot skip this: each one must be a scoped API route (a `Scoped`
dependency), a desk route (a signed-in person), a live route (the candidate's join token), or be listed here as
public with the reason. Every scoped route is then called with a key of each scope: the scopes it names pass
(whatever the route answers next), every other scope gets 403 naming the scope it lacks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient

from footprint.accounts import Scope
from web.app import create_app
from web.auth import Scoped
from web.desk.auth import require_sign_in
from web.live.routes import join_token
from web.settings import Settings

KEY = "route-access-bootstrap-key-0123"
XAPI_VERSION = {"X-Experience-API-Version": "1.0.3"}

PUBLIC = {
    ("GET", "/openapi.json"): "the API's description",
    ("GET", "/docs"): "API documentation page",
    ("GET", "/docs/oauth2-redirect"): "API documentation page",
    ("GET", "/redoc"): "API documentation page",
    ("GET", "/healthz"): "load balancer health check (says nothing of any college)",
    ("GET", "/readyz"): "load balancer readiness check",
    ("GET", "/readyz/live"): "load balancer readiness check of live sessions",
    ("GET", "/metrics"): "aggregates only; limited to allowed networks or a token (its own check)",
    ("GET", "/ledger/checkpoint"): "signed checkpoints are public: they reveal hashes only",
    ("GET", "/ledger/public-key"): "the verifier key is public",
    ("GET", "/ledger/keys"): "every verifier key the ledger signed with, and its validity: public keys",
    ("GET", "/ledger/proof/consistency"): "hashes only",
    ("GET", "/desk"): "the desk's home: the signed-in person's exams, or a redirect to the sign-in form",
    ("GET", "/desk/login"): "the sign-in form",
    ("POST", "/desk/login"): "signing in (throttled)",
    ("GET", "/join/{token}"): "the candidate's page: the token in the path is the credential, checked by the page",
    ("GET", "/join/{token}/receipt"): "the candidate's receipt: the same token in the path, its own session only",
    ("GET", "/side/{token}"): "the side camera's phone page: its own token in the path, checked by the page",
    ("GET", "/xapi/about"): "xAPI: the store's versions, open to anyone by the specification",
    ("GET", "/api/v1/footprint/catalogue/schema"): "the JSON schema of a catalogue: documentation, no college's data",
    ("GET", "/lti/jwks"): "LTI: the tool's public keys, fetched by the LMSs",
    ("GET", "/help"): "the guides of docs/: documentation, no college's data",
    ("GET", "/help/{path:path}"): "a guide of docs/ or a picture it shows: documentation, no college's data",
    ("GET", "/lti/login"): "LTI login initiation: answers only a redirect to a registered LMS (state and nonce kept)",
    ("POST", "/lti/login"): "LTI login initiation: answers only a redirect to a registered LMS (state and nonce kept)",
    ("POST", "/lti/launch"): "LTI launch: the LMS's signed id_token, the state and its cookie are the credential",
    (
        "GET",
        "/lti/register/{token}",
    ): "LTI dynamic registration: the link the tool signed for a college is the credential",
}
"""Routes anyone may call, with the reason (the ledger's inclusion proof takes an optional key: it is scoped)."""


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    kind: str
    scopes: tuple[Scope, ...] = ()


def dependencies(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from dependencies(sub)


def classify(app: FastAPI) -> list[Endpoint]:
    """Every route of the app with how it is authorised; AssertionError naming a route that says nothing."""
    found: list[Endpoint] = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path or ""
        if isinstance(route, APIWebSocketRoute):
            assert path == "/live/ws", f"websocket {path}: add how it is authorised to this test"
            found.append(Endpoint("WS", path, "token"))  # the first message carries the join token
            continue
        methods = sorted((context.methods or {"GET"}) - {"HEAD"})
        calls = list(dependencies(route.dependant)) if isinstance(route, APIRoute) else []
        scoped = [call for call in calls if isinstance(call, Scoped)]
        for method in methods:
            if scoped:
                assert len(scoped) == 1, f"{method} {path} has several scope checks"
                found.append(Endpoint(method, path, "scope", scoped[0].scopes))
            elif require_sign_in in calls:
                found.append(Endpoint(method, path, "desk"))
            elif join_token in calls:
                found.append(Endpoint(method, path, "token"))
            elif (method, path) in PUBLIC or path.startswith(("/assets", "/static/api-docs")):
                found.append(Endpoint(method, path, "public"))
            else:
                raise AssertionError(
                    f"{method} {path} says nothing of who may call it: give it a scoped key (web/auth.py), a desk "
                    "sign-in, the join token, or list it in PUBLIC with the reason"
                )
    return found


SAMPLE_PARAMETERS = {"{day}": "2026-01-01", "{part}": "0", "{seq}": "0", "{run}": "run-1"}


def concrete(path: str) -> str:
    """A path with its parameters filled in (ids nobody has)."""
    return re.sub(r"\{[^}]+\}", lambda m: SAMPLE_PARAMETERS.get(m.group(0), "00000000-none"), path)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data: Path = tmp_path_factory.mktemp("access")
    settings = Settings(data_dir=data, bootstrap_api_key=KEY, checkpoint_interval_s=3600)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def keys(client: TestClient) -> dict[Scope, str]:
    """One key per scope, issued through the API with the bootstrap (admin) key."""
    issued = {}
    for scope in Scope:
        answer = client.post(
            "/api/v1/keys", json={"name": f"only {scope.value}", "scopes": [scope.value]}, headers=bearer(KEY)
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["scopes"] == [scope.value]
        issued[scope] = answer.json()["secret"]
    return issued


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **XAPI_VERSION}


def test_every_route_says_who_may_call_it(client: TestClient) -> None:
    endpoints = classify(client.app)  # type: ignore[arg-type]
    kinds = {e.kind for e in endpoints}
    assert kinds == {"scope", "desk", "token", "public"}
    scoped = {(e.method, e.path): e.scopes for e in endpoints if e.kind == "scope"}
    assert scoped[("POST", "/xapi/statements")] == (Scope.XAPI,)
    assert scoped[("POST", "/api/v1/exams")] == (Scope.SESSIONS,)
    assert scoped[("POST", "/api/v1/users")] == (Scope.PEOPLE,)
    assert scoped[("PUT", "/api/v1/webhook")] == (Scope.ADMIN,)
    assert scoped[("GET", "/api/v1/keys")] == (Scope.ADMIN,)
    assert scoped[("GET", "/ledger/proof/inclusion")] == (Scope.XAPI, Scope.FOOTPRINT)
    assert any(path.startswith("/api/v1/footprint") and s == (Scope.FOOTPRINT,) for (_, path), s in scoped.items())


def test_a_key_reaches_only_the_routes_its_scopes_name(client: TestClient, keys: dict[Scope, str]) -> None:
    checked = 0
    for endpoint in classify(client.app):  # type: ignore[arg-type]
        if endpoint.kind != "scope":
            continue
        url = concrete(endpoint.path)
        for scope, key in keys.items():
            answer = client.request(endpoint.method, url, headers=bearer(key))
            where = f"{endpoint.method} {endpoint.path} with a {scope.value} key"
            if scope in endpoint.scopes:
                assert answer.status_code not in (401, 403), f"{where}: {answer.status_code} {answer.text[:200]}"
            else:
                assert answer.status_code == 403, f"{where}: {answer.status_code} {answer.text[:200]}"
                message = answer.text
                assert all(f"`{s.value}`" in message for s in endpoint.scopes), f"{where}: {message[:200]}"
            checked += 1
    assert checked > 100


LIVE_REQUESTS: dict[str, dict[str, Any]] = {
    "/live/recording/seal": {"json": {"runs": {}}},
    "/live/offer": {"json": {"sdp": "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", "type": "offer"}},
    "/live/idcard": {"files": {"card": ("card.jpg", b"\xff\xd8\xff\xe0", "image/jpeg")}},
    "/live/recording/{run}/{part}": {
        "content": b"\x1a\x45\xdf\xa3",
        "headers": {"X-Run-Start-S": "0", "Content-Type": "video/webm"},
    },
}
"""Well-formed requests of the live routes, so that only the credential can be refused."""


def test_desk_and_live_routes_refuse_every_api_key(client: TestClient) -> None:
    for endpoint in classify(client.app):  # type: ignore[arg-type]
        if endpoint.kind not in ("desk", "token") or endpoint.method == "WS":
            continue
        extra = dict(LIVE_REQUESTS.get(endpoint.path, {}))
        headers = {**bearer(KEY), **extra.pop("headers", {})}
        answer = client.request(endpoint.method, concrete(endpoint.path), headers=headers, **extra)
        assert answer.status_code in (401, 403, 404, 410), f"{endpoint.method} {endpoint.path}: {answer.status_code}"
        assert answer.status_code != 404 or endpoint.kind == "token", f"{endpoint.method} {endpoint.path}"


def test_no_key_and_a_revoked_key_get_401(client: TestClient, keys: dict[Scope, str]) -> None:
    assert client.get("/api/v1/exams").status_code == 401
    made = client.post("/api/v1/keys", json={"name": "short-lived", "scopes": ["sessions"]}, headers=bearer(KEY))
    secret, key_id = made.json()["secret"], made.json()["id"]
    assert client.get("/api/v1/exams", headers=bearer(secret)).status_code == 200
    assert client.delete(f"/api/v1/keys/{key_id}", headers=bearer(KEY)).status_code == 204
    gone = client.get("/api/v1/exams", headers=bearer(secret))
    assert gone.status_code == 401 and "revoked" in gone.json()["error"]["message"]
