"""Ledger endpoints: an outside client verifies a statement's inclusion with only the public key."""

from __future__ import annotations

import asyncio
import base64
import contextlib

import rfc8785
from fastapi.testclient import TestClient

from footprint.accounts import bootstrap
from footprint.ledger.checkpoint import verify
from footprint.ledger.merkle import ConsistencyProof, InclusionProof, leaf_hash, verify_consistency, verify_inclusion
from footprint.xapi.statements import store_statements
from tests.web.conftest import statement
from web.checkpoints import checkpoint_if_grown, checkpoint_loop
from web.services import build_services
from web.settings import Settings


def test_inclusion_proof_verifies_against_signed_checkpoint(client: TestClient) -> None:
    ids = client.post("/xapi/statements", json=[statement(activity=f"q{i}") for i in range(5)]).json()
    public_key = client.get("/ledger/public-key").text.strip()
    note = client.get("/ledger/checkpoint").text
    checkpoint = verify(note, public_key)  # raises unless signed by that key
    assert checkpoint.tree_size == 5
    stored = client.get("/xapi/statements", params={"statementId": ids[3]}).json()
    proof_json = client.get(
        "/ledger/proof/inclusion", params={"statementId": ids[3], "treeSize": checkpoint.tree_size}
    ).json()
    leaf = rfc8785.dumps(stored)  # the client recomputes the leaf from the statement it fetched
    assert base64.b64decode(proof_json["leaf"]) == leaf
    verify_inclusion(InclusionProof.from_json(proof_json), leaf_hash(leaf), checkpoint.root_hash)


def test_consistency_between_checkpoints(client: TestClient) -> None:
    client.post("/xapi/statements", json=[statement(activity=f"a{i}") for i in range(3)])
    public_key = client.get("/ledger/public-key").text.strip()
    first = verify(client.get("/ledger/checkpoint").text, public_key)
    client.post("/xapi/statements", json=[statement(activity=f"b{i}") for i in range(4)])
    second = verify(client.get("/ledger/checkpoint").text, public_key)
    assert (first.tree_size, second.tree_size) == (3, 7)
    proof = client.get("/ledger/proof/consistency", params={"first": 3, "second": 7}).json()
    verify_consistency(ConsistencyProof.from_json(proof), first.root_hash, second.root_hash)


def test_proof_errors(client: TestClient) -> None:
    missing = client.get("/ledger/proof/inclusion", params={"statementId": "00000000-0000-0000-0000-000000000000"})
    assert missing.status_code == 404
    assert client.get("/ledger/proof/consistency", params={"first": 5, "second": 2}).status_code == 400
    assert (
        client.get("/ledger/proof/inclusion", params={"statementId": "x"}, headers={"Authorization": ""}).status_code
        == 401
    )


def test_checkpoint_task_signs_only_when_the_log_grew(settings: Settings) -> None:
    services = build_services(settings)
    try:
        assert checkpoint_if_grown(services) is not None  # the first one, at size 0
        assert checkpoint_if_grown(services) is None
        with services.writing() as session:
            college = bootstrap(session, settings.bootstrap_api_key or "")
            assert college is not None
            store_statements(
                session,
                services.ledger,
                [statement()],
                college_id=college.college_id,
                authority={"mbox": "mailto:a@b.kz"},
                version="1.0.3",
            )
        loop = checkpoint_loop(services, 0.01)
        with contextlib.suppress(TimeoutError):
            asyncio.run(asyncio.wait_for(loop, 0.3))
        with services.sessions() as session:
            latest = services.ledger.latest_checkpoint(session)
        assert latest is not None and latest.checkpoint.tree_size == 1
    finally:
        services.engine.dispose()
