"""`python -m web backup DIR` / `restore DIR`: a copy taken while statements are being written restores onto an empty
data folder with a clean ledger, the same media and keys, and proofs taken before it still verify; a tampered copy
or a non-empty target is refused (exit 2) and copies nothing."""

from __future__ import annotations

import base64
import json
import os
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import rfc8785
from fastapi.testclient import TestClient
from sqlalchemy import select

from footprint.audit import audit
from footprint.ledger.checkpoint import verify
from footprint.ledger.merkle import InclusionProof, leaf_hash, verify_inclusion
from footprint.ledger.service import Ledger
from footprint.store import make_engine, make_session_factory
from proctor.recording.datakeys import load_master_key
from proctor.sessions.gate import GateCipher
from proctor.sessions.tables import CandidateRow
from tests.web.conftest import HEADERS, KEY, statement
from web import backup
from web.app import create_app
from web.platform import media_storage
from web.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def platform_settings(data: Path, db_url: str) -> Settings:
    return Settings(data_dir=data, database_url=db_url, bootstrap_api_key=KEY, checkpoint_interval_s=3600)


def empty_database(db_url: str, request: pytest.FixtureRequest, folder: Path) -> str:
    """A second empty database of the same kind as `db_url` (the restore's target)."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{folder / 'proctor.db'}"
    server = request.getfixturevalue("postgres_server")
    url = server.create_database()
    request.addfinalizer(lambda: server.drop_database(url))
    return str(url.render_as_string(hide_password=False))


def test_a_backup_taken_during_writes_restores_a_clean_ledger_and_the_same_media(
    tmp_path: Path, db_url: str, media: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    source = platform_settings(tmp_path / "data", db_url)
    folder = tmp_path / "backup"
    with TestClient(create_app(source), headers=HEADERS) as client:
        ids = client.post("/xapi/statements", json=[statement(activity=f"q{i}") for i in range(5)]).json()
        exam = client.post("/api/v1/exams", json={"title": "Backup drill", "attestation": "final"})
        assert exam.status_code == 201, exam.text
        candidate = client.post(
            f"/api/v1/exams/{exam.json()['id']}/candidates",
            data={"external_id": "S-1", "full_name": "Aigerim Nurlanovna"},
            files={"photo": ("reference.jpg", (media / "obama.jpg").read_bytes(), "image/jpeg")},
        )
        assert candidate.status_code == 201, candidate.text
        sealed = GateCipher(source.gate_key_file).encrypt("quiz-password")  # the quiz gate's key, made on first use
        note = client.get("/ledger/checkpoint").text
        public_key = client.get("/ledger/public-key").text.strip()
        signed = verify(note, public_key)
        receipt = client.get(
            "/ledger/proof/inclusion", params={"statementId": ids[2], "treeSize": signed.tree_size}
        ).json()
        leaf = rfc8785.dumps(client.get("/xapi/statements", params={"statementId": ids[2]}).json())

        stop, posted, started = threading.Event(), [], threading.Event()

        def keep_writing() -> None:
            while not stop.is_set():
                answer = client.post("/xapi/statements", json=[statement(activity=f"w{len(posted)}")])
                posted.append(answer.status_code)
                started.set()

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            assert started.wait(30)
            assert backup.run_backup(source, folder) == 0
            written_during = len(posted)
        finally:
            stop.set()
            writer.join()
        assert written_during >= 1 and set(posted) == {200}
    made = capsys.readouterr()
    assert f"backup of the {backup.database_kind(db_url)} platform in {folder}" in made.out
    assert "media: 3/3 files" in made.err  # the photo, its college's data key and the embeddings' key (wrapped)
    assert "which is not in the backup: keep a copy of it apart" in made.out

    manifest = json.loads((folder / "MANIFEST.json").read_text())
    assert manifest["format_version"] == 1 and manifest["database"] == backup.database_kind(db_url)
    listed = {entry["path"] for entry in manifest["files"]}
    assert {"keys/ledger.key", "keys/ledger.pub", "keys/gate.key", "settings.json"} <= listed
    recorded = json.loads((folder / "settings.json").read_text())
    assert KEY not in (folder / "settings.json").read_text()
    assert {"bootstrap_api_key", "metrics_token"} <= set(recorded["omitted"])
    assert recorded["settings"]["ledger_origin"] == source.ledger_origin

    target = platform_settings(tmp_path / "restored", empty_database(db_url, request, tmp_path / "restored"))
    # the master key is kept apart: without it, nothing is restored
    master = load_master_key(source.master_key_path)
    assert manifest["master_keys"] == [master.id] and "master.key" not in str(listed)
    assert backup.run_restore(target, folder) == 2
    assert f"encrypted under the master key {master.id}" in capsys.readouterr().err
    assert not target.media_path.exists()
    target.master_key_path.parent.mkdir(parents=True, exist_ok=True)
    target.master_key_path.write_bytes(source.master_key_path.read_bytes())
    assert backup.run_restore(target, folder) == 0
    out = capsys.readouterr().out
    assert "check the ledger next:" in out

    # the ledger: clean, and the receipt of before the backup verifies against the restored tree and key
    assert (target.key_file.with_name("ledger.pub").read_text().strip()) == public_key
    engine = make_engine(target.db_url)
    try:
        with make_session_factory(engine)() as session:
            report = audit(session, public_key)
            assert report.clean, report.findings
            assert report.tree_size >= signed.tree_size + 1  # the statements and photo, some written during the copy
            ledger = Ledger(target.ledger_origin)
            assert ledger.root(session, signed.tree_size) == signed.root_hash
            verify_inclusion(InclusionProof.from_json(receipt), leaf_hash(leaf), signed.root_hash)
            assert ledger.inclusion_proof(session, receipt["leafIndex"], signed.tree_size) == InclusionProof.from_json(
                receipt
            )
            photo_keys = session.scalars(select(CandidateRow.photo_key)).all()
    finally:
        engine.dispose()
    assert photo_keys and all(photo_keys)
    restored_media = media_storage(target)
    for key in photo_keys:
        assert key is not None
        assert (target.media_path / key).read_bytes() == (source.media_path / key).read_bytes()
        with restored_media.open(key) as photo:
            assert photo.read() == (media / "obama.jpg").read_bytes()
    assert base64.b64decode(receipt["leaf"]) == leaf

    # the keys, owner-only, and the quiz password sealed before the backup opens with the restored gate key
    for key_file in (target.key_file, target.gate_key_file):
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert key_file.read_bytes() == (source.data_dir / key_file.name).read_bytes()
    assert GateCipher(target.gate_key_file).decrypt(sealed) == "quiz-password"

    # the printed command, pasted in a new terminal, audits the restored ledger
    command = next(line for line in out.splitlines() if line.startswith("check the ledger next:"))
    audited = subprocess.run(
        shlex.split(command.split(":", 1)[1]), capture_output=True, text=True, check=False, timeout=120
    )
    assert audited.returncode == 0 and audited.stdout.startswith("clean:"), audited.stdout + audited.stderr

    # the restored platform starts on the restored data
    with TestClient(create_app(target), headers=HEADERS) as restored:
        assert restored.get("/xapi/statements", params={"statementId": ids[2]}).status_code == 200


@pytest.fixture
def sqlite_backup(tmp_path: Path) -> tuple[Settings, Path]:
    """A platform on SQLite with a few statements, and its backup."""
    settings = platform_settings(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'proctor.db'}")
    with TestClient(create_app(settings), headers=HEADERS) as client:
        client.post("/xapi/statements", json=[statement(activity=f"q{i}") for i in range(3)])
    (settings.media_path / "college").mkdir(parents=True)
    (settings.media_path / "college" / "photo.jpg").write_bytes(b"picture bytes")
    backup.backup(settings, tmp_path / "backup")
    return settings, tmp_path / "backup"


def test_a_tampered_backup_is_refused_and_nothing_is_copied(
    tmp_path: Path, sqlite_backup: tuple[Settings, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _settings, folder = sqlite_backup
    target = platform_settings(tmp_path / "restored", f"sqlite:///{tmp_path / 'restored' / 'proctor.db'}")
    photo = folder / "media" / "college" / "photo.jpg"
    data = bytearray(photo.read_bytes())
    data[3] ^= 0x01
    photo.write_bytes(bytes(data))
    assert backup.run_restore(target, folder) == 2
    assert "media/college/photo.jpg does not hold" in capsys.readouterr().err
    assert not target.data_dir.exists() or not any(target.data_dir.rglob("*"))

    photo.unlink()
    assert backup.run_restore(target, folder) == 2
    assert "media/college/photo.jpg is missing from the backup" in capsys.readouterr().err
    assert not target.data_dir.exists() or not any(target.data_dir.rglob("*"))


def test_restore_only_onto_an_empty_data_folder_and_extra_files_are_reported(
    tmp_path: Path, sqlite_backup: tuple[Settings, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, folder = sqlite_backup
    assert backup.run_restore(settings, folder) == 2  # the live data folder itself
    assert "already holds a database" in capsys.readouterr().err and "PROCTOR_DATA_DIR" in backup.EMPTY_HINT

    (folder / "stray.txt").write_text("not in the manifest")
    target = platform_settings(tmp_path / "restored", f"sqlite:///{tmp_path / 'restored' / 'proctor.db'}")
    assert backup.run_restore(target, folder) == 0
    assert "not in the manifest, not restored: stray.txt" in capsys.readouterr().err
    assert (target.media_path / "college" / "photo.jpg").read_bytes() == b"picture bytes"
    assert not (target.data_dir / "stray.txt").exists()


def test_the_backup_command_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    folder = tmp_path / "backup"
    folder.mkdir()
    (folder / "old").write_text("something")
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("PROCTOR_")}
    environment["PROCTOR_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-m", "web", "backup", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=environment,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "is not an empty folder" in done.stderr
    assert [p.name for p in folder.iterdir()] == ["old"]
