"""Media encrypted at rest: what lies in the media folder is not the media, reads give it back byte for byte and
from any offset, and an edited, moved or cut file is refused, never read as something else."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path

import pytest

from proctor.recording.datakeys import (
    DATA_KEYS,
    DataKeyError,
    LocalKeyFolder,
    generate_master_key,
    load_master_key,
    rewrap,
)
from proctor.recording.encrypted import EncryptedStorage
from proctor.recording.encryption import HEADER, SEGMENT, TAG, MediaIntegrityError, plain_size
from proctor.recording.storage import LocalStorage, StorageKeyError, open_storage
from tests.fixtures.fetch import media_path


def _store(tmp_path: Path) -> EncryptedStorage:
    return EncryptedStorage.over(LocalStorage(tmp_path / "media"), tmp_path / "keys" / "master.key", create=True)


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 17])
def test_every_size_comes_back_byte_for_byte(tmp_path: Path, size: int) -> None:
    store = _store(tmp_path)
    data = os.urandom(size)
    store.put_bytes("c1/e/s/blob.bin", data)
    stored = (tmp_path / "media" / "c1/e/s/blob.bin").read_bytes()
    assert len(stored) == HEADER + max(1, -(-size // SEGMENT)) * TAG + size
    assert plain_size(len(stored)) == size
    with store.open("c1/e/s/blob.bin") as handle:
        assert handle.read() == data


def test_a_recording_on_disk_is_not_playable_and_the_player_still_seeks(tmp_path: Path) -> None:
    store = _store(tmp_path)
    source = tmp_path / "in.mp4"
    shutil.copyfile(media_path("single_face.mp4"), source)
    plain = source.read_bytes()
    store.put("c1/e/s/chunk_00001.mp4", source)
    on_disk = (tmp_path / "media" / "c1/e/s/chunk_00001.mp4").read_bytes()
    assert b"ftyp" not in on_disk[:64] and plain[4:8] == b"ftyp"
    assert hashlib.sha256(plain).digest() not in on_disk and plain[1000:1064] not in on_disk
    with store.open("c1/e/s/chunk_00001.mp4") as handle:
        for start in (len(plain) - 10, 5, SEGMENT - 3, 2 * SEGMENT + 100, 0):
            handle.seek(start)
            assert handle.read(5000) == plain[start : start + 5000]
        assert handle.seek(0, io.SEEK_END) == len(plain)
    with store.as_file("c1/e/s/chunk_00001.mp4") as path:
        assert path.read_bytes() == plain and path.name == "chunk_00001.mp4"
    assert not path.exists()


def test_each_college_has_its_own_data_key(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.put_bytes("c1/x.jpg", b"a picture")
    store.put_bytes("c2/x.jpg", b"a picture")
    first = (tmp_path / "media/c1/x.jpg").read_bytes()
    second = (tmp_path / "media/c2/x.jpg").read_bytes()
    assert first[8:16] != second[8:16]  # the key ids in the headers
    assert sorted(os.listdir(tmp_path / "media" / DATA_KEYS)) == sorted(
        f"{c}.{store.data_keys.master.id}.json" for c in ("c1", "c2")
    )
    # a college's file moved under another college's key does not open
    (tmp_path / "media/c2/y.jpg").write_bytes(first)
    with pytest.raises(DataKeyError), store.open("c2/y.jpg") as handle:
        handle.read()


@pytest.mark.parametrize("damage", ["flip", "cut", "cut-at-segment", "moved"])
def test_an_edited_moved_or_cut_object_is_refused(tmp_path: Path, damage: str) -> None:
    store = _store(tmp_path)
    store.put_bytes("c1/e/s/a.ts", os.urandom(3 * SEGMENT))
    path = tmp_path / "media/c1/e/s/a.ts"
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[HEADER + SEGMENT + 40] ^= 1
        path.write_bytes(bytes(data))
        key = "c1/e/s/a.ts"
    elif damage == "cut":
        path.write_bytes(bytes(data[:-100]))
        key = "c1/e/s/a.ts"
    elif damage == "cut-at-segment":
        path.write_bytes(bytes(data[: HEADER + 2 * (SEGMENT + TAG)]))
        key = "c1/e/s/a.ts"
    else:
        (tmp_path / "media/c1/e/s/b.ts").write_bytes(bytes(data))
        key = "c1/e/s/b.ts"
    with pytest.raises(MediaIntegrityError), store.open(key) as handle:
        handle.read()


def test_media_stored_before_encryption_still_reads(tmp_path: Path) -> None:
    LocalStorage(tmp_path / "media").put_bytes("c1/old.jpg", b"\xff\xd8 kept before")
    with _store(tmp_path).open("c1/old.jpg") as handle:
        assert handle.read() == b"\xff\xd8 kept before"


def test_a_worker_opens_the_store_by_its_spec_without_making_keys(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.put_bytes("c1/a.bin", b"payload")
    elsewhere = open_storage(store.spec)
    with elsewhere.open("c1/a.bin") as handle:
        assert handle.read() == b"payload"
    missing = type(store.spec)("local", str(tmp_path / "media"), str(tmp_path / "nowhere.key"))
    with pytest.raises(DataKeyError):
        open_storage(missing)
    with pytest.raises(StorageKeyError):
        store.put_bytes("../c1/a.bin", b"x")


def test_rotating_the_master_key_rewraps_the_data_keys_only(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.put_bytes("c1/a.bin", b"one")
    store.put_bytes("c2/b.bin", b"two")
    before = (tmp_path / "media/c1/a.bin").read_bytes()
    new_key = generate_master_key(tmp_path / "keys" / "master.new")
    report = rewrap(LocalKeyFolder(tmp_path / "media" / DATA_KEYS), store.data_keys.master, new_key)
    assert sorted(report.colleges) == ["c1", "c2"]
    rotated = EncryptedStorage.over(LocalStorage(tmp_path / "media"), tmp_path / "keys" / "master.new", create=False)
    with rotated.open("c1/a.bin") as one, rotated.open("c2/b.bin") as two:
        assert (one.read(), two.read()) == (b"one", b"two")
    assert (tmp_path / "media/c1/a.bin").read_bytes() == before
    assert load_master_key(tmp_path / "keys" / "master.new").id == new_key.id
    wrong = generate_master_key(tmp_path / "keys" / "wrong.key")
    assert rewrap(LocalKeyFolder(tmp_path / "media" / DATA_KEYS), wrong, new_key).colleges == ()
    with pytest.raises(DataKeyError, match="holds"):
        EncryptedStorage.over(LocalStorage(tmp_path / "media"), tmp_path / "keys" / "wrong.key", create=False)
    # a data key file edited to name another college does not open
    folder = tmp_path / "media" / DATA_KEYS
    (folder / f"c1.{new_key.id}.json").write_bytes((folder / f"c2.{new_key.id}.json").read_bytes())
    with pytest.raises(DataKeyError):
        EncryptedStorage.over(LocalStorage(tmp_path / "media"), tmp_path / "keys" / "master.new", create=False).open(
            "c1/a.bin"
        )


def test_a_missing_or_wrong_master_key_is_refused_never_replaced(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.put_bytes("c1/a.bin", b"kept")
    key = tmp_path / "keys" / "master.key"
    key.rename(tmp_path / "elsewhere.key")
    with pytest.raises(DataKeyError, match="is missing"):
        _store(tmp_path)  # would make a new key the media cannot be opened with
    assert not key.exists()
    generate_master_key(key)
    with pytest.raises(DataKeyError, match="point PROCTOR_MASTER_KEY_FILE at the right key"):
        _store(tmp_path)
