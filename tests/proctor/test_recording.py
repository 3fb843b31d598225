"""Recordings kept as chunks: remuxed without loss, hashed, analysed on one timeline with gaps as technical events."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import pytest

from proctor.analyze import MediaSource, analyze_sources, enroll_photo
from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEncoder
from proctor.decode import iter_frames, probe
from proctor.errors import RecordingError
from proctor.events.vocabulary import SCORED, EventType
from proctor.policy import PRESETS
from proctor.recording.segmenter import segment_recording
from tests.fixtures.fetch import FACTS


def test_chunks_cover_the_recording_and_carry_their_sha256(media: Path, tmp_path: Path) -> None:
    chunks = segment_recording(media / "WolfgangLanger_Pexels.mp4", tmp_path / "chunks", chunk_s=5.0)
    assert len(chunks) >= 3
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].start_s == 0.0
    assert all(a.start_s < b.start_s for a, b in zip(chunks, chunks[1:], strict=False))
    for chunk in chunks:
        assert hashlib.sha256(chunk.path.read_bytes()).hexdigest() == chunk.sha256
        assert chunk.container == "mpegts"
    whole = tmp_path / "whole.ts"
    whole.write_bytes(b"".join(c.path.read_bytes() for c in chunks))  # TS chunks play back concatenated
    assert probe(whole).duration_s == pytest.approx(FACTS["WolfgangLanger_Pexels.mp4"].duration_s, abs=0.5)
    assert len(list(iter_frames(whole, 5.0))) == pytest.approx(99, abs=3)


@pytest.mark.parametrize("cut", [0.3, 0.7])
def test_truncated_upload_is_refused_and_leaves_nothing(media: Path, tmp_path: Path, cut: float) -> None:
    data = (media / "single_face.mp4").read_bytes()
    truncated = tmp_path / "upload.mp4"
    truncated.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(RecordingError):
        segment_recording(truncated, tmp_path / "chunks")
    assert not (tmp_path / "chunks").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload.mp4"]


@pytest.mark.slow
def test_resumed_recording_gap_is_technical_not_misconduct(media: Path, tmp_path: Path) -> None:
    recording = media / "WolfgangLanger_Pexels.mp4"
    chunks = segment_recording(recording, tmp_path / "chunks", chunk_s=8.0)
    # The candidate's connection drops for 6 s after the first chunk, then the upload resumes.
    sources = [MediaSource(c.path, c.start_s + (6.0 if c.index > 0 else 0.0)) for c in chunks]
    photo = tmp_path / "reference.jpg"
    cv2.imwrite(str(photo), next(f for f in iter_frames(recording, 1.0) if f.timestamp_s >= 13.0).image)
    policy = PRESETS["interim"]
    detector, encoder = FaceDetector(policy.faces), FaceEncoder()
    reference = enroll_photo(photo, policy, detector, encoder)
    result = analyze_sources(sources, reference, policy, detector=detector, encoder=encoder)
    lost = [e for e in result.events if e.type is EventType.VIDEO_LOST]
    assert len(lost) == 1
    assert lost[0].start_s == pytest.approx(chunks[1].start_s, abs=1.0)
    assert lost[0].end_s == pytest.approx(chunks[1].start_s + 6.0, abs=1.0)
    audio_gaps = [e for e in result.events if e.type is EventType.AUDIO_LOST]
    assert audio_gaps  # the fixture's audio is digital silence, and the gap is lost audio too
    assert [e.type for e in result.events if e.type in SCORED] == []
    assert result.score.total == 0.0


def test_local_storage_is_atomic_and_refuses_escaping_keys(tmp_path: Path) -> None:
    from proctor.recording.storage import LocalStorage, StorageKeyError

    storage = LocalStorage(tmp_path / "store")
    source = tmp_path / "chunk.ts"
    source.write_bytes(b"x" * 1000)
    stored = storage.put("c1/e1/s1/chunk_00000.ts", source)
    assert stored.size == 1000 and not source.exists()
    with storage.open("c1/e1/s1/chunk_00000.ts") as handle:
        assert handle.read() == b"x" * 1000
    assert list(storage.keys("c1/e1")) == ["c1/e1/s1/chunk_00000.ts"]
    for bad in ["../etc/passwd", "/abs", "a/../../b", "a//b", ""]:
        with pytest.raises(StorageKeyError):
            storage.local_path(bad)
    source.write_bytes(b"y")
    with pytest.raises(FileExistsError):
        storage.put("c1/e1/s1/chunk_00000.ts", source)
    assert storage.delete_prefix("c1/e1/s1") == 1
    assert list(storage.keys("c1")) == []
