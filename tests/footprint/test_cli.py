"""The `footprint` CLI end to end: offline verification and audit exit codes (0 ok, 1 failed, 2 bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from footprint.cli import cli
from footprint.ledger import Ledger, Record, load_signer
from footprint.store import make_engine, make_session_factory, migrate

ORIGIN = "footprint.test/cli"
STATEMENT = {"id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee", "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"}}


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    """A ledger of 11 records, two checkpoints, and every file an outside verifier gets."""
    runner = CliRunner()
    assert runner.invoke(cli, ["keygen", "--out", str(tmp_path / "keys"), "--name", ORIGIN]).exit_code == 0
    ledger = Ledger(ORIGIN, load_signer(tmp_path / "keys" / "ledger.key", ORIGIN))
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = make_engine(url)
    migrate(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        ledger.append_many(session, [Record("k", str(i), {"n": i}) for i in range(6)])
        old = ledger.checkpoint(session)
        entry = ledger.append(session, "xapi.statement", str(STATEMENT["id"]), STATEMENT)
        ledger.append_many(session, [Record("k", str(i), {"n": i}) for i in range(6, 10)])
        new = ledger.checkpoint(session)
        inclusion = ledger.inclusion_proof(session, entry.index)
        consistency = ledger.consistency_proof(session, old.checkpoint.tree_size, new.checkpoint.tree_size)
    engine.dispose()
    (tmp_path / "statement.json").write_text(json.dumps(STATEMENT, indent=2))
    (tmp_path / "proof.json").write_text(json.dumps(inclusion.to_json()))
    (tmp_path / "consistency.json").write_text(json.dumps(consistency.to_json()))
    (tmp_path / "old.note").write_text(old.note)
    (tmp_path / "new.note").write_text(new.note)
    (tmp_path / "url").write_text(url)
    return tmp_path


def inclusion(
    d: Path, statement: str = "statement.json", proof: str = "proof.json", key: str = "keys/ledger.pub"
) -> list[str]:
    return ["verify", "inclusion", "--statement", str(d / statement), "--proof", str(d / proof)] + [
        "--checkpoint",
        str(d / "new.note"),
        "--public-key",
        str(d / key),
    ]


def test_verify_inclusion(evidence: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, inclusion(evidence))
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith(f"OK: leaf 6 of {ORIGIN} at tree size 11")

    (evidence / "forged.json").write_text(
        json.dumps({**STATEMENT, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}})
    )
    assert runner.invoke(cli, inclusion(evidence, statement="forged.json")).exit_code == 1

    runner.invoke(cli, ["keygen", "--out", str(evidence / "other"), "--name", ORIGIN])
    wrong_key = runner.invoke(cli, inclusion(evidence, key="other/ledger.pub"))
    assert wrong_key.exit_code == 1 and "no signature" in wrong_key.stderr

    (evidence / "bad.json").write_text('{"leafIndex": 6, "treeSize": 11, "auditPath": ["not base64!"]}')
    bad = runner.invoke(cli, inclusion(evidence, proof="bad.json"))
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1
    assert runner.invoke(cli, inclusion(evidence, proof="missing.json")).exit_code == 2
    assert runner.invoke(cli, inclusion(evidence, key="statement.json")).exit_code == 2


def test_verify_consistency(evidence: Path) -> None:
    runner = CliRunner()

    def run(old: str, new: str) -> int:
        args = ["verify", "consistency", "--old", str(evidence / old), "--new", str(evidence / new)]
        args += ["--proof", str(evidence / "consistency.json"), "--public-key", str(evidence / "keys/ledger.pub")]
        return runner.invoke(cli, args).exit_code

    assert run("old.note", "new.note") == 0
    assert run("new.note", "old.note") == 1
    (evidence / "edited.note").write_text((evidence / "new.note").read_text().replace("\n11\n", "\n12\n"))
    assert run("old.note", "edited.note") == 1
    (evidence / "garbage.note").write_text("not a note")
    assert run("old.note", "garbage.note") == 2


def test_audit_exit_codes(evidence: Path) -> None:
    runner = CliRunner()
    url = (evidence / "url").read_text()
    key = ["--public-key", str(evidence / "keys/ledger.pub")]
    clean = runner.invoke(cli, ["audit", url, *key])
    assert clean.exit_code == 0 and clean.output.startswith("clean: 11 rows")

    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text('UPDATE ledger_entries SET payload = :p WHERE "index" = 2'), {"p": b'{"n":200}'})
        connection.execute(text('DELETE FROM ledger_entries WHERE "index" = 9'))
    engine.dispose()
    tampered = runner.invoke(cli, ["audit", url, "--json", *key])
    assert tampered.exit_code == 1
    assert json.loads(tampered.output)["tamperedRows"] == [2, 9]
    assert "rows 2, 9" in runner.invoke(cli, ["audit", url]).output

    assert runner.invoke(cli, ["audit", f"sqlite:///{evidence / 'missing.db'}"]).exit_code == 2
    assert runner.invoke(cli, ["audit", "oracle://somewhere/db"]).exit_code == 2
    assert runner.invoke(cli, ["audit", url, "--public-key", str(evidence / "missing.pub")]).exit_code == 2


@pytest.mark.postgres
def test_audit_on_postgresql(postgres_url: str) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["audit", postgres_url]).exit_code == 2  # no ledger tables yet
    assert runner.invoke(cli, ["migrate", postgres_url]).exit_code == 0
    engine = make_engine(postgres_url)
    with make_session_factory(engine).begin() as session:
        Ledger(ORIGIN).append_many(session, [Record("k", str(i), {"n": i}) for i in range(5)])
    with engine.begin() as connection:
        connection.execute(text('DELETE FROM ledger_entries WHERE "index" = 1'))
    engine.dispose()
    result = runner.invoke(cli, ["audit", postgres_url])
    assert result.exit_code == 1 and "rows 1" in result.output
