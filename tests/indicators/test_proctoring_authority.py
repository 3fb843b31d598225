"""Proctoring results count only when the platform's proctoring wrote them, on SQLite and PostgreSQL: the same
statement sent with a college's (LMS) key is kept, counted as untrusted and never becomes an attestation or a
passed discipline; facts projected before this rule are re-judged by migration 0012; and an evidence bundle
cannot turn a forged result into a genuine one."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from footprint.accounts import (
    ALL_SCOPES,
    Credential,
    bootstrap,
    create_college,
    hash_key,
    issue_key,
    proctoring_authority,
)
from footprint.catalogue.store import save_catalogue
from footprint.cli import cli
from footprint.facts.tables import FactRow
from footprint.ledger import Ledger, generate_signer
from footprint.reports import basis, compute, one_learner
from footprint.semester.moodle import Module
from footprint.store import make_engine, make_session_factory, migrate
from footprint.vocabulary import Kind
from footprint.xapi.statements import store_statements
from tests.indicators.helpers import COURSE, EXAM, PLATFORM, SITE, at, base_catalogue, catalogue, proctoring, user
from web.app import create_app
from web.footprint_demo import proctoring_sink
from web.services import build_services
from web.settings import Settings

KEY = "proctoring-authority-key-0123456789"
API = "/api/v1/footprint"


def _without_authority(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement as a sender posts it (the store writes its authority)."""
    return {k: v for k, v in statement.items() if k != "authority"}


def _attempt_and_verdict(session: str, college: str) -> list[dict[str, Any]]:
    return [
        _without_authority(proctoring("S1", EXAM, session, at(14, 11), None, score=9.0, college=college)),
        _without_authority(proctoring("S1", EXAM, session, at(15, 9), "confirmed", college=college)),
    ]


def test_only_the_platforms_authority_makes_a_proctoring_result_count(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    ledger = Ledger("test.proctor.kz/log", generate_signer("test.proctor.kz/log"))
    sessions = make_session_factory(engine)
    try:
        with sessions.begin() as db:
            college = create_college(db, "Authority College")
            lms = issue_key(db, college, "moodle", scopes=ALL_SCOPES).credential
            save_catalogue(db, ledger, college, catalogue(base_catalogue(learners=1)), "test")
        genuine, forged = str(uuid.uuid4()), str(uuid.uuid4())
        with sessions.begin() as db:  # what the session service's statement sink writes
            store_statements(
                db,
                ledger,
                _attempt_and_verdict(genuine, college),
                college_id=college,
                authority=proctoring_authority(PLATFORM),
                version="1.0.3",
            )
        with sessions.begin() as db:  # the same shapes, posted with the college's LMS key
            store_statements(
                db,
                ledger,
                _attempt_and_verdict(forged, college),
                college_id=college,
                authority=lms.authority,
                version="1.0.3",
            )
        with sessions.begin() as db:
            size = ledger.checkpoint(db).checkpoint.tree_size
        with sessions() as db:
            kinds = sorted(db.scalars(select(FactRow.kind)).all())
            assert kinds == [Kind.PROCTORED, Kind.VERDICT, Kind.UNTRUSTED_PROCTORING, Kind.UNTRUSTED_PROCTORING]
            where = basis(db, ledger, college, size, at(7, 0), at(21, 0))
            learner, _ = one_learner(db, where, "S1")
            computed = compute(db, where)
        assert [(a.session, a.result, a.suspicion_score) for a in learner.attestations] == [(genuine, "confirmed", 9.0)]
        assert learner.mastery.passed == ["EM1"]
        assert computed.indicators.counted.untrusted_proctoring == 2
        assert computed.indicators.learners["S1"].attestations == learner.attestations
    finally:
        engine.dispose()


def test_facts_projected_before_the_rule_are_re_judged_by_the_migration(db_url: str) -> None:
    engine = make_engine(db_url)
    ledger = Ledger("test.proctor.kz/log")
    sessions = make_session_factory(engine)
    try:
        migrate(engine, "0011_cluster")
        with sessions.begin() as db:
            college = create_college(db, "Early College")
            lms = Credential(str(uuid.uuid4()), college, "Early College", "moodle")
            db.execute(  # a key as revision 0011 kept it (no scopes yet)
                text(
                    "INSERT INTO credentials (id, college_id, name, key_hash, created_at) "
                    "VALUES (:id, :college, 'moodle', :hash, :at)"
                ),
                {"id": lms.id, "college": college, "hash": hash_key(lms.id), "at": datetime.now(UTC)},
            )
            store_statements(
                db,
                ledger,
                _attempt_and_verdict(str(uuid.uuid4()), college),
                college_id=college,
                authority=proctoring_authority(PLATFORM),
                version="1.0.3",
            )
            store_statements(
                db,
                ledger,
                _attempt_and_verdict(str(uuid.uuid4()), college),
                college_id=college,
                authority=lms.authority,
                version="1.0.3",
            )
            # as revision 0011's projection stored them: every proctoring result counted, whoever sent it
            db.execute(update(FactRow).where(FactRow.seq.in_([3, 4])).values(kind=Kind.PROCTORED))
        migrate(engine)
        with sessions() as db:
            kinds = db.execute(select(FactRow.seq, FactRow.kind).order_by(FactRow.seq)).all()
        assert [(row.seq, row.kind) for row in kinds] == [
            (1, Kind.PROCTORED),
            (2, Kind.VERDICT),
            (3, Kind.UNTRUSTED_PROCTORING),
            (4, Kind.UNTRUSTED_PROCTORING),
        ]
    finally:
        engine.dispose()


@pytest.fixture
def client(tmp_path: Path, db_url: str) -> Iterator[tuple[TestClient, Credential, Settings]]:
    settings = Settings(
        data_dir=tmp_path, database_url=db_url, bootstrap_api_key=KEY, checkpoint_interval_s=3600, log_level="WARNING"
    )
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {KEY}"}) as test_client:
        services = build_services(settings)
        try:
            with services.writing() as db:
                credential = bootstrap(db, KEY)
            assert credential is not None
            yield test_client, credential, settings
        finally:
            services.engine.dispose()


def test_a_verdict_forged_with_the_lms_key_is_ignored_counted_and_cannot_be_passed_off_in_a_bundle(
    client: tuple[TestClient, Credential, Settings], tmp_path: Path
) -> None:
    http, credential, settings = client
    assert http.put(f"{API}/catalogue", json=base_catalogue(learners=1)).status_code == 201
    forged = _attempt_and_verdict(str(uuid.uuid4()), credential.college_id)
    replied = SITE.forum_replied(user(1), COURSE, Module("forum", 95, "Forum"), 1, 1, at(8, 10))  # a verb we don't use
    posted = http.post("/xapi/statements", json=[*forged, replied], headers={"X-Experience-API-Version": "1.0.3"})
    assert posted.status_code == 200, posted.text
    genuine = _attempt_and_verdict(str(uuid.uuid4()), credential.college_id)
    services = build_services(settings)
    try:
        proctoring_sink(services, credential.college_id)(genuine)
    finally:
        services.engine.dispose()
    http.get("/ledger/checkpoint")
    period = {"since": at(7, 0).isoformat(), "until": at(21, 0).isoformat()}
    learner = http.get(f"{API}/learners/S1", params=period).json()
    assert [a["session"] for a in learner["attestations"]] == [genuine[0]["result"]["extensions"][EXTENSION]["session"]]
    counted = {"unknown_verbs": {"http://id.tincanapi.com/verb/replied": 1}, "untrusted_proctoring": 2}
    assert {k: v for k, v in learner["counted"].items() if k in counted} == counted and learner["counted"]["facts"] == 5
    group = http.get(f"{API}/groups/G1", params=period).json()
    assert group["counted"] == {**counted, "facts": 5, "unmatched": 0}
    table = http.get(f"{API}/groups/G1", params={**period, "format": "csv"}).text
    assert "# counted.untrusted_proctoring: 2\n" in table
    assert "# counted.unknown_verbs.http://id.tincanapi.com/verb/replied: 1\n" in table
    bundle = http.get(f"{API}/evidence/learners/S1", params=period).json()
    assert len(bundle["statements"]) == 5  # the forged two are in the learner's footprint, and ignored
    key = tmp_path / "ledger.pub"
    key.write_text(http.get("/ledger/public-key").text)

    def verify(changed: dict[str, Any], name: str) -> tuple[int, str]:
        path = tmp_path / name
        path.write_text(json.dumps(changed))
        result = CliRunner().invoke(cli, ["verify", "report", "--bundle", str(path), "--public-key", str(key)])
        return result.exit_code, result.output

    assert verify(bundle, "bundle.json")[0] == 0
    passed_off = copy.deepcopy(bundle)
    for item in passed_off["statements"]:
        if item["statement"]["id"] in {s["id"] for s in forged}:
            item["statement"]["authority"] = proctoring_authority(PLATFORM)
    code, output = verify(passed_off, "passed-off.json")
    assert code == 1 and "is not in the log at this checkpoint" in output


EXTENSION = "https://proctor-kz.org/xapi/extensions/proctoring-result"
