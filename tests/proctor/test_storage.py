"""The storage interface every part of the platform reaches media through: atomic writes, no overwrite, a
local file for decoders, and a spec that opens the same store in another process."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from proctor.recording.storage import LocalStorage, StorageKeyError, StorageSpec, open_storage, scratch_folder


def read_in_another_process(spec: StorageSpec, key: str) -> bytes:
    with open_storage(spec).open(key) as handle:
        return handle.read()


def test_objects_are_written_once_and_read_back_by_key(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    assert storage.put_bytes("c1/e1/s1/run1/evidence/0000.jpg", b"\xff\xd8jpeg").size == 6
    assert storage.exists("c1/e1/s1/run1/evidence/0000.jpg") and not storage.exists("c1/e1/s1/nothing.jpg")
    with pytest.raises(FileExistsError):
        storage.put_bytes("c1/e1/s1/run1/evidence/0000.jpg", b"other")
    with storage.open("c1/e1/s1/run1/evidence/0000.jpg") as handle:
        assert handle.read() == b"\xff\xd8jpeg"
    with storage.as_file("c1/e1/s1/run1/evidence/0000.jpg") as path:
        assert path.read_bytes() == b"\xff\xd8jpeg"
    with pytest.raises(FileNotFoundError), storage.as_file("c1/e1/s1/gone.jpg"):
        pass
    assert not [p for p in (tmp_path / "media").rglob("*.part")]  # no half-written file stays behind
    assert storage.delete("c1/e1/s1/run1/evidence/0000.jpg") and not storage.delete("c1/e1/s1/run1/evidence/0000.jpg")
    with pytest.raises(StorageKeyError):
        storage.put_bytes("../escape.jpg", b"x")


def test_a_spec_opens_the_same_store_in_another_process(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    source = tmp_path / "chunk.ts"
    source.write_bytes(b"\x47" * 188)
    storage.put("c1/e1/s1/recording/u1/chunk_00000.ts", source)
    assert not source.exists()  # moved into the store
    assert storage.spec == StorageSpec("local", str((tmp_path / "media").resolve()))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        data = pool.apply(read_in_another_process, (storage.spec, "c1/e1/s1/recording/u1/chunk_00000.ts"))
    assert data == b"\x47" * 188
    with pytest.raises(ValueError, match="unknown storage kind"):
        open_storage(StorageSpec("s3", "bucket"))  # type: ignore[arg-type]


def test_scratch_folders_are_private_and_removed(tmp_path: Path) -> None:
    with scratch_folder(tmp_path / "scratch") as first, scratch_folder(tmp_path / "scratch") as second:
        assert first != second and first.is_dir()
        (first / "remuxed.mp4").write_bytes(b"x")
    assert not first.exists() and not second.exists()
