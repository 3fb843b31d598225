"""One pipeline, however the recording arrives: the whole file (`proctor analyze`) and the same file kept as
chunks of 10, 7 and 13 s (an API upload) give the same events: types, severities and times within 0.1 s.

The recordings have a second person in view and keyframes at times that are no whole milliseconds (a
camera's fixed group of pictures), so the chunks start there: a chunk placed on the timeline even a fraction
of a millisecond early makes the session's sampler pick other frames from then on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from proctor.analyze import AnalysisResult, MediaSource, analyze_recording, analyze_sources, enroll_photo
from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEncoder
from proctor.policy import PRESETS
from proctor.recording.segmenter import segment_recording
from tests.fixtures.scenarios import Scenario, build_two_people, compose_demo, write_video

POLICY = PRESETS["interim"]


def same_events(first: AnalysisResult, second: AnalysisResult) -> None:
    """The same events in the same order: type, severity and both ends within 0.1 s; the same frames checked."""
    assert [(e.type, e.severity) for e in first.events] == [(e.type, e.severity) for e in second.events]
    for a, b in zip(first.events, second.events, strict=True):
        assert a.start_s == pytest.approx(b.start_s, abs=0.1), (a, b)
        assert a.end_s == pytest.approx(b.end_s, abs=0.1), (a, b)
    assert [c.at_s for c in first.identity_checks] == pytest.approx([c.at_s for c in second.identity_checks])
    assert first.stages == second.stages


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory, media: Path) -> list[Scenario]:
    out = tmp_path_factory.mktemp("chunked")
    two_people = build_two_people(out, keyframe_every=29, name="two_people_29.mp4")
    composition, truth = compose_demo()
    demo = composition.write(out / "demo_23.mp4", keyframe_every=23)
    return [two_people, Scenario(demo, two_people.reference, truth)]


@pytest.mark.parametrize("which", [0, 1], ids=["two_people", "demo"])
def test_chunks_of_any_length_give_the_events_of_the_whole_file(
    recordings: list[Scenario], which: int, tmp_path: Path
) -> None:
    scenario = recordings[which]
    whole = analyze_recording(scenario.video, scenario.reference, POLICY)
    assert any(e.type.value == "multiple_faces" for e in whole.events)
    detector = FaceDetector(POLICY.faces)
    encoder = FaceEncoder()
    try:
        reference = enroll_photo(scenario.reference, POLICY, detector, encoder)
        starts: list[float] = []
        for chunk_s in (10.0, 7.0, 13.0):
            chunks = segment_recording(scenario.video, tmp_path / f"chunks-{chunk_s}", chunk_s)
            starts += [c.start_s for c in chunks]
            sources = [MediaSource(c.path, c.start_s) for c in chunks]
            chunked = analyze_sources(sources, reference, POLICY, detector=detector, encoder=encoder)
            same_events(whole, chunked)
    finally:
        detector.close()
    assert any(round(start, 3) != start for start in starts), "no chunk starts off a whole millisecond"


def test_chunks_without_audio_are_one_audio_lost_span(tmp_path: Path, media: Path) -> None:
    """A recording with no audio stream is one `audio_lost` over its length, not one per chunk."""
    composition, _ = compose_demo()
    video = tmp_path / "silent.mp4"
    write_video(video, composition.frames[:240], None, keyframe_every=37)
    whole = analyze_recording(video, None, POLICY)
    chunks = segment_recording(video, tmp_path / "chunks", 5.0)
    assert len(chunks) >= 3
    chunked = analyze_sources([MediaSource(c.path, c.start_s) for c in chunks], None, POLICY)
    lost = [e for e in chunked.events if e.type.value == "audio_lost"]
    assert len(lost) == 1
    assert lost[0].start_s == 0.0
    assert lost[0].end_s == pytest.approx(16.0, abs=0.1)
    same_events(whole, chunked)
