"""The data folder is its owner's alone: folders 0700, the database, the key and every stored file 0600, whatever
the umask, on a fresh folder and on one an older version left readable by others."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from proctor.recording.storage import LocalStorage
from web.app import create_app
from web.settings import Settings

KEY = "private-test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """A umask that lets anyone read new files: what the platform keeps private, it keeps so itself."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def enrol(client: TestClient, media: Path) -> None:
    """An exam and a candidate with a reference photo (stored in the media folder)."""
    exam = client.post("/api/v1/exams", json={"title": "Final: Welding safety", "attestation": "final"}, headers=AUTH)
    candidate = client.post(
        f"/api/v1/exams/{exam.json()['id']}/candidates",
        data={"external_id": "S-1", "full_name": "Aigerim Nurlanovna"},
        files={"photo": ("reference.jpg", (media / "obama.jpg").read_bytes(), "image/jpeg")},
        headers=AUTH,
    )
    assert candidate.status_code == 201, candidate.text


def private_files(data: Path) -> list[Path]:
    files = [data / "proctor.db", data / "ledger.key", data / "ledger.pub"]
    files += [p for p in (data / "proctor.db-wal", data / "proctor.db-shm") if p.exists()]
    return files + [p for p in (data / "media").rglob("*") if p.is_file()]


def test_a_fresh_data_folder_is_the_owners_only(tmp_path: Path, media: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data, bootstrap_api_key=KEY, checkpoint_interval_s=3600)
    with TestClient(create_app(settings)) as client:
        enrol(client, media)
        assert mode(data) == mode(data / "media") == mode(data / "incoming") == 0o700
        photos = list((data / "media").rglob("*.jpg"))
        assert len(photos) == 1
        for path in private_files(data):
            assert mode(path) == 0o600, path
        assert (data / "proctor.db-wal").exists()  # the journal takes the database file's mode


def test_an_existing_folder_left_readable_is_tightened_at_start(tmp_path: Path, media: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data, bootstrap_api_key=KEY, checkpoint_interval_s=3600)
    with TestClient(create_app(settings)) as client:
        enrol(client, media)
    for path in [data, *data.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/exams", headers=AUTH).status_code == 200
        assert mode(data) == mode(data / "media") == 0o700
        for path in (data / "proctor.db", data / "ledger.key"):
            assert mode(path) == 0o600, path


def test_stored_media_is_written_for_its_owner_only(tmp_path: Path) -> None:
    os.umask(0)
    store = LocalStorage(tmp_path / "media")
    store.put_bytes("college/exam/evidence/1.jpg", b"\xff\xd8 a face")
    source = tmp_path / "chunk.ts"
    source.write_bytes(b"G" * 188)
    store.put("college/exam/session/chunk_00001.ts", source)
    for key, content in (
        ("college/exam/evidence/1.jpg", b"\xff\xd8 a face"),
        ("college/exam/session/chunk_00001.ts", b"G" * 188),
    ):
        assert mode(store.local_path(key)) == 0o600
        with store.open(key) as stored:
            assert stored.read() == content
    assert not source.exists()
