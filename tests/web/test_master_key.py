"""`python -m web master-key show|rotate|forget`, and a server that will not start without the media's master key
(it never makes a new one the media cannot be opened with): each pasted as an operator would, in a new process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from proctor.recording.datakeys import load_master_key
from proctor.recording.encrypted import EncryptedStorage
from proctor.recording.storage import LocalStorage

ROOT = Path(__file__).resolve().parents[2]


def _web(data: Path, *arguments: str, **extra: str) -> subprocess.CompletedProcess[str]:
    with socket.socket() as probe:  # a free port, should the server start after all
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "PROCTOR_DATA_DIR": str(data), "PROCTOR_PORT": str(port), **extra}
    return subprocess.run(
        [sys.executable, "-m", "web", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _media(data: Path) -> EncryptedStorage:
    store = EncryptedStorage.over(LocalStorage(data / "media"), data / "master.key", create=True)
    store.put_bytes("college-a/exam/session/chunk.ts", b"a recording")
    return store


def test_rotate_then_forget_the_old_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    old = _media(data).data_keys.master.id
    shown = _web(data, "master-key", "show")
    assert shown.returncode == 0 and f"master key {old}" in shown.stdout and old in shown.stdout.splitlines()[1]

    assert _web(data, "master-key", "forget", old).returncode == 2  # the key in force

    new_file = tmp_path / "keys" / "master-2.key"
    rotated = _web(data, "master-key", "rotate", str(new_file))
    assert rotated.returncode == 0, rotated.stderr
    assert "PROCTOR_MASTER_KEY_FILE=" in rotated.stdout and f"master-key forget {old}" in rotated.stdout
    assert _web(data, "master-key", "rotate", str(new_file)).returncode == 2  # not over an existing file
    new = load_master_key(new_file).id

    forgot = _web(data, "master-key", "forget", old, PROCTOR_MASTER_KEY_FILE=str(new_file))
    assert forgot.returncode == 0, forgot.stderr
    assert sorted(p.name for p in (data / "media" / ".datakeys").iterdir()) == [f"college-a.{new}.json"]
    reopened = EncryptedStorage.over(LocalStorage(data / "media"), new_file, create=False)
    with reopened.open("college-a/exam/session/chunk.ts") as handle:
        assert handle.read() == b"a recording"
    assert _web(data, "master-key", "forget", "0123456789abcdef", PROCTOR_MASTER_KEY_FILE=str(new_file)).returncode == 2


def test_the_server_will_not_start_without_the_media_s_master_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _media(data)
    (data / "master.key").rename(tmp_path / "kept-apart.key")
    started = _web(data)
    assert started.returncode == 2
    assert "is missing: point PROCTOR_MASTER_KEY_FILE at that key" in started.stderr
    assert not (data / "master.key").exists()  # no new key was made
