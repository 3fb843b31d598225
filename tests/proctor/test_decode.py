"""Decoding: one time origin for video and audio, upright frames from phones, and what is not a recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from proctor.analyze import on_timeline
from proctor.analyzers.faces import FaceDetector
from proctor.decode import MAX_FRAME_PIXELS, MIN_RECORDING_S, iter_audio, iter_frames, probe
from proctor.errors import RecordingError, ReferencePhotoError
from proctor.frames import AUDIO_SAMPLE_RATE
from proctor.images import MAX_PHOTO_PIXELS, decode_photo
from proctor.recording.segmenter import segment_recording
from tests.fixtures.hostile import claimed_size
from tests.fixtures.scenarios import Scenario, build_rotated_demo, speech_onset_s, write_video


def test_chunk_audio_lies_on_the_session_timeline_where_it_was_recorded(demo: Scenario, tmp_path: Path) -> None:
    """Chunks keep the source's timestamps; audio must be timed from each chunk's own start, like its video."""
    chunks = segment_recording(demo.video, tmp_path / "chunks", chunk_s=10.0)
    assert len(chunks) >= 3
    timeline = np.concatenate(
        [
            shifted.samples
            for chunk in chunks
            for piece in iter_audio(chunk.path, 1.0)
            if (shifted := on_timeline(piece, chunk.start_s)) is not None
        ]
    )
    first = [on_timeline(next(iter_audio(c.path, 1.0)), c.start_s) for c in chunks]
    previous_end = 0.0
    for chunk, start in zip(chunks, first, strict=True):
        assert start is not None
        assert start.timestamp_s == pytest.approx(previous_end, abs=0.1), chunk.index  # contiguous, no doubling
        previous_end = start.timestamp_s + sum(p.duration_s for p in iter_audio(chunk.path, 1.0))
    assert previous_end == pytest.approx(demo.duration_s, abs=0.15)
    talking = demo.span("speech_detected")
    assert speech_onset_s(timeline) == pytest.approx(talking.start_s, abs=0.1)


def test_a_phone_recording_is_turned_upright(demo: Scenario, tmp_path: Path, detector: FaceDetector) -> None:
    rotated = build_rotated_demo(tmp_path / "rotated", rotation=-90)
    info = probe(rotated.video)
    assert (info.rotation, info.width, info.height) == (-90, 640, 360)
    present = next(f for f in iter_frames(rotated.video, 2.0) if f.timestamp_s >= 1.0)  # the candidate sits there
    assert present.image.shape == (360, 640, 3)
    assert detector.detect(present.image).count == 1
    sideways = next(f for f in iter_frames(rotated.video, 2.0, rotation=0) if f.timestamp_s >= 1.0)
    assert sideways.image.shape == (640, 360, 3)  # what a decoder that ignores the display matrix analyses
    chunks = segment_recording(rotated.video, tmp_path / "chunks", chunk_s=10.0)
    assert probe(chunks[0].path).rotation == 0  # MPEG-TS keeps no display matrix: the rotation is kept aside
    kept = next(f for f in iter_frames(chunks[0].path, 2.0, rotation=info.rotation) if f.timestamp_s >= 1.0)
    assert kept.image.shape == (360, 640, 3) and detector.detect(kept.image).count == 1


def test_a_still_image_or_a_blink_of_video_is_not_a_recording(media: Path, tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="still image"):
        probe(media / "obama.jpg")
    blink = tmp_path / "blink.mp4"
    write_video(blink, [np.full((360, 640, 3), 90, dtype=np.uint8)] * 5, None)  # a third of a second
    with pytest.raises(RecordingError, match="too short"):
        probe(blink)
    assert probe(blink, min_duration_s=0.0).duration_s < MIN_RECORDING_S  # a chunk of a session may be short


def test_a_video_larger_than_the_frame_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    side = int(MAX_FRAME_PIXELS**0.5) + 16
    huge = tmp_path / "huge.mp4"
    write_video(huge, [np.zeros((side, side, 3), dtype=np.uint8)] * 2, None, fps=1)
    with pytest.raises(RecordingError, match="megapixel"):
        probe(huge, min_duration_s=0.0)
    with pytest.raises(RecordingError, match="megapixel"):
        next(iter_frames(huge))


def test_a_photo_that_claims_too_many_pixels_is_refused_unread(media: Path) -> None:
    bomb = claimed_size((media / "obama.jpg").read_bytes(), 20_000, 20_000)
    assert 20_000 * 20_000 > MAX_PHOTO_PIXELS
    with pytest.raises(ReferencePhotoError, match="megapixels"):
        decode_photo(bomb)
    assert decode_photo((media / "obama.jpg").read_bytes()).ndim == 3
    with pytest.raises(ReferencePhotoError, match="not a readable image"):
        decode_photo(b"not an image")


def test_audio_before_the_first_frame_is_cut_at_the_session_start() -> None:
    from proctor.frames import AudioChunk

    early = AudioChunk(-0.25, np.ones(AUDIO_SAMPLE_RATE, dtype=np.int16))
    moved = on_timeline(early, 0.0)
    assert moved is not None and moved.timestamp_s == 0.0 and moved.duration_s == pytest.approx(0.75)
    assert on_timeline(AudioChunk(-2.0, np.ones(100, dtype=np.int16)), 0.0) is None
    later = on_timeline(early, 10.0)
    assert later is not None and later.timestamp_s == pytest.approx(9.75)
