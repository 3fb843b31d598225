"""Who saw what: every view of a recording (one per viewing, not per Range request), evidence picture, reference
photo, protocol and learner report, on the desk or with an API key, is a `media_access` record of the ledger; the
college's admins list them on the desk page, its CSV and the API, filtered; an edited record fails the audit."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from footprint.audit import FindingKind, audit
from footprint.ledger.tables import EntryRow
from footprint.store import make_engine, make_session_factory
from tests.desk.desk_client import HTML, sign_in
from tests.desk.test_access import first_face, fresh
from tests.desk.world import World
from tests.indicators.helpers import base_catalogue
from web.access_trail import KIND, starts_a_viewing
from web.app import create_app


@pytest.fixture
def app(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.settings)) as client:
        yield client


def trail(world: World) -> list[tuple[int, dict[str, Any]]]:
    """Every access record in the ledger, oldest first: (ledger index, payload)."""
    engine = make_engine(world.settings.db_url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                select(EntryRow.index, EntryRow.payload).where(EntryRow.kind == KIND).order_by(EntryRow.index)
            ).all()
    finally:
        engine.dispose()
    return [(int(index), json.loads(payload)) for index, payload in rows]


def seen(world: World) -> list[tuple[str, str, str, str]]:
    return [(p["actor"]["kind"], p["actor"]["name"], p["what"], p["object"]) for _, p in trail(world)]


def key(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_viewing_starts_without_range_or_at_byte_0() -> None:
    assert starts_a_viewing(None) and starts_a_viewing("bytes=0-") and starts_a_viewing("bytes=0-99, 200-300")
    assert not starts_a_viewing("bytes=1000-") and not starts_a_viewing("bytes=-500")
    assert not starts_a_viewing("items=0-1")


def test_desk_views_are_recorded_once_per_viewing_with_who_what_and_where(app: TestClient, world: World) -> None:
    session = world.sessions_a[0]
    browser = fresh(app)
    sign_in(browser, world.examiner_a.email)
    recording = f"/desk/sessions/{session}/recording"
    assert browser.get(recording).status_code == 200
    assert browser.get(recording, headers={"Range": "bytes=0-99"}).status_code == 206
    assert browser.get(recording, headers={"Range": "bytes=1000-1999"}).status_code == 206  # seeking: not a view
    assert browser.get(f"/desk/sessions/{session}/events/1/evidence").status_code == 200
    assert browser.get(f"/desk/sessions/{session}/events/1/thumb").status_code == 200  # thumbnails are not views
    assert browser.get(f"/desk/sessions/{session}/reference").status_code == 200
    assert browser.get(f"/desk/faces/{first_face(world)}").status_code == 200
    assert browser.get(f"/desk/sessions/{session}/protocol.pdf").status_code == 200
    assert browser.get(f"/desk/sessions/{world.session_b}/recording").status_code == 404  # refused: no record
    who = ("person", world.examiner_a.email)
    assert seen(world) == [
        (*who, "recording", session),
        (*who, "recording", session),
        (*who, "evidence", f"{session}/1"),
        (*who, "reference_photo", session),
        (*who, "face", str(first_face(world))),
        (*who, "protocol", session),
    ]
    for _, payload in trail(world):
        assert payload["college"] == world.college_a and payload["actor"]["id"] == world.examiner_a.id
        assert payload["from"] == "testclient" and payload["at"].endswith("+00:00")
        assert set(payload) == {"college", "actor", "what", "object", "at", "from"}  # small: no bytes, no secret


def test_api_keys_are_recorded_and_admins_list_the_trail(app: TestClient, world: World) -> None:
    session = world.sessions_a[0]
    api = key(world.key_a)
    assert app.get(f"/api/v1/sessions/{session}/recording", headers={**api, "Range": "bytes=0-"}).status_code == 206
    assert app.get(f"/api/v1/sessions/{session}/recording", headers={**api, "Range": "bytes=500-"}).status_code == 206
    assert app.get(f"/api/v1/sessions/{session}/events/1/evidence", headers=api).status_code == 200
    assert app.put("/api/v1/footprint/catalogue", json=base_catalogue(learners=1), headers=api).status_code == 201
    assert app.get("/ledger/checkpoint").status_code == 200  # reports are computed at a signed checkpoint
    aggregate = app.get("/api/v1/footprint/learners", headers=api)
    assert aggregate.status_code == 200, aggregate.text  # an aggregate: not recorded
    assert app.get("/api/v1/footprint/learners/S1", headers=api).status_code == 200
    assert app.get("/api/v1/footprint/evidence/learners/S1", headers=api).status_code == 200
    keys = {item["id"]: item["name"] for item in app.get("/api/v1/keys", headers=api).json()}
    records = trail(world)
    assert [(p["what"], p["object"]) for _, p in records] == [
        ("recording", session),
        ("evidence", f"{session}/1"),
        ("footprint_report", "S1"),
        ("footprint_report", "S1"),
    ]
    for _, payload in records:
        assert payload["actor"]["kind"] == "key" and keys[payload["actor"]["id"]] == payload["actor"]["name"]
        assert world.key_a not in json.dumps(payload)

    admin = fresh(app)
    sign_in(admin, world.admin_a.email)
    admin.get(f"/desk/sessions/{session}/reference")  # the admin's own view is in the trail too
    page = admin.get("/desk/access", headers=HTML)
    assert page.status_code == 200
    assert page.text.count("data-ledger-index=") == 5 and world.admin_a.email in page.text
    indexes = [int(i) for i in re.findall(r'data-ledger-index="(\d+)"', page.text)]
    assert indexes == sorted(indexes, reverse=True)  # newest first
    only = admin.get("/desk/access", params={"what": "footprint_report", "object": "S1"}, headers=HTML)
    assert only.text.count("data-ledger-index=") == 2
    assert (
        admin.get("/desk/access", params={"actor": world.admin_a.email}, headers=HTML).text.count("data-ledger-index=")
        == 1
    )
    today = records[0][1]["at"][:10]
    assert (
        admin.get("/desk/access", params={"from": today, "to": today}, headers=HTML).text.count("data-ledger-index=")
        == 5
    )
    assert "data-ledger-index=" not in admin.get("/desk/access", params={"to": "2020-01-01"}, headers=HTML).text
    assert admin.get("/desk/access", params={"from": "soon"}, headers=HTML).status_code == 422

    table = admin.get("/desk/access.csv", params={"what": "evidence"})
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert list(rows[0]) == ["at", "actor_kind", "actor_id", "actor_name", "what", "object", "from", "ledger_index"]
    assert [(r["actor_kind"], r["what"], r["object"], r["from"]) for r in rows] == [
        ("key", "evidence", f"{session}/1", "testclient")
    ]

    listed = app.get("/api/v1/access", params={"what": "recording", "limit": 1}, headers=api).json()
    assert listed["total"] == 1 and listed["next"] is None and listed["items"][0]["from"] == "testclient"
    assert app.get("/api/v1/access", params={"limit": 2}, headers=api).json()["next"] is not None

    examiner = fresh(app)
    sign_in(examiner, world.examiner_a.email)
    assert examiner.get("/desk/access", headers=HTML).status_code == 403
    assert examiner.get("/desk/access.csv").status_code == 403
    other = fresh(app)
    sign_in(other, world.admin_b.email)
    assert "data-ledger-index=" not in other.get("/desk/access", headers=HTML).text
    assert app.get("/api/v1/access", headers=key(world.key_b)).json()["total"] == 0


def test_an_edited_access_record_fails_the_audit(app: TestClient, world: World) -> None:
    browser = fresh(app)
    sign_in(browser, world.examiner_a.email)
    assert browser.get(f"/desk/sessions/{world.sessions_a[0]}/reference").status_code == 200
    [(index, payload)] = trail(world)
    engine = make_engine(world.settings.db_url)
    try:
        with make_session_factory(engine)() as db:
            assert audit(db).clean
        forged = json.dumps({**payload, "actor": {**payload["actor"], "name": "someone@else.kz"}}).encode()
        with engine.begin() as db:
            db.execute(text('UPDATE ledger_entries SET payload = :p WHERE "index" = :i'), {"p": forged, "i": index})
        with make_session_factory(engine)() as db:
            report = audit(db)
    finally:
        engine.dispose()
    assert index in report.tampered_indexes
    assert FindingKind.CHANGED in {finding.kind for finding in report.findings}
