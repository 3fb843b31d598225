"""`python -m web rotate-ledger-key` on a platform: the server started after it signs with the new key, `/ledger/keys`
publishes every key with its validity, and that list checks every checkpoint; a backup carries the history."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from footprint.cli import cli
from footprint.ledger import CheckpointError
from footprint.ledger.history import HISTORY_FILE, KeyHistory
from tests.web.conftest import HEADERS, KEY, statement
from web import __main__ as main_module
from web import backup, rotation
from web.app import create_app
from web.services import load_or_create_signer
from web.settings import Settings


@pytest.fixture
def kept_umask() -> Iterator[None]:
    """The test process's umask back after a command that sets its own."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def platform(data: Path, db_url: str) -> Settings:
    return Settings(data_dir=data, database_url=db_url, bootstrap_api_key=KEY, checkpoint_interval_s=3600)


def serve(settings: Settings, statements: int) -> tuple[str, dict[str, object]]:
    """Start the server, store `statements` statements, and return its newest checkpoint and its published keys."""
    with TestClient(create_app(settings), headers=HEADERS) as client:
        if statements:
            stored = client.post("/xapi/statements", json=[statement(activity=f"r{i}") for i in range(statements)])
            assert stored.status_code == 200, stored.text
        note = client.get("/ledger/checkpoint").text
        keys = client.get("/ledger/keys")
        assert keys.status_code == 200
        current = client.get("/ledger/public-key").text.strip()
    published: dict[str, object] = keys.json()
    assert KeyHistory.from_json(published).current.verifier == current
    return note, published


def test_rotating_twice_publishes_three_keys_that_check_every_checkpoint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str], kept_umask: None
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(data))
    monkeypatch.setenv("PROCTOR_DATABASE_URL", db_url)
    assert main_module.main(["rotate-ledger-key"]) == 2  # no key yet: the server makes it on its first start
    err = capsys.readouterr().err
    assert err.startswith(f"error: no ledger key at {data / 'ledger.key'} to rotate") and err.count("\n") == 1
    assert not (data / "ledger.key").exists() and not (data / HISTORY_FILE).exists()

    settings = platform(data, db_url)
    notes = []
    for _rotation in range(2):
        note, published = serve(settings, 3)
        notes.append(note)
        old_key = (data / "ledger.key").read_bytes()
        assert main_module.main(["rotate-ledger-key"]) == 0
        said = capsys.readouterr().out
        assert "retired ledger key" in said and "start the server (every node) now" in said
        assert (data / "ledger.key").read_bytes() != old_key
    note, published = serve(settings, 2)
    notes.append(note)

    keys = published["keys"]
    assert isinstance(keys, list) and len(keys) == 3
    assert [(k["firstTreeSize"], k["lastTreeSize"]) for k in keys] == [(0, 3), (3, 6), (6, None)]
    assert keys[0]["validFrom"] is not None and keys[2]["validUntil"] is None
    assert keys[0]["validUntil"] == keys[1]["validFrom"] and keys[1]["validUntil"] == keys[2]["validFrom"]
    assert json.loads((data / HISTORY_FILE).read_text()) == published

    history = KeyHistory.from_json(published)
    assert [history.verify(n).tree_size for n in notes] == [3, 6, 8]
    (tmp_path / "keys.json").write_text(json.dumps(published))
    audited = CliRunner().invoke(cli, ["audit", db_url, "--public-key", str(tmp_path / "keys.json")])
    assert audited.exit_code == 0 and audited.output.startswith("clean: 8 rows, tree size 8"), audited.output


def test_a_retired_key_put_back_does_not_start_and_a_backup_carries_the_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = platform(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'proctor.db'}")
    serve(source, 1)
    old_key = source.key_file.read_bytes()
    assert rotation.rotate_ledger_key(source, datetime(2030, 1, 1, tzinfo=UTC)) == 0
    new_key = source.key_file.read_bytes()
    source.key_file.write_bytes(old_key)
    with pytest.raises(CheckpointError, match=f"not the current key of its history {HISTORY_FILE}"):
        load_or_create_signer(source)
    source.key_file.write_bytes(new_key)
    _note, published = serve(source, 1)

    assert backup.run_backup(source, tmp_path / "backup") == 0
    assert (tmp_path / "backup" / "keys" / HISTORY_FILE).read_text() == (tmp_path / "data" / HISTORY_FILE).read_text()
    target = platform(tmp_path / "restored", f"sqlite:///{tmp_path / 'restored' / 'proctor.db'}")
    assert backup.run_restore(target, tmp_path / "backup") == 0
    restored = tmp_path / "restored" / HISTORY_FILE
    assert restored.stat().st_mode & 0o777 == 0o600
    assert f"--public-key {restored.resolve()}" in capsys.readouterr().out  # the audit to paste takes the history
    _note, republished = serve(target, 0)
    assert republished == published
