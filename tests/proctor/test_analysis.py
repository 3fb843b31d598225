"""Whole recordings through the real cascade: the acceptance scenarios of the analysis core."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from proctor.analyze import AnalysisResult, analyze_recording
from proctor.analyzers.audio import AudioAnalyzer
from proctor.decode import iter_audio, iter_frames
from proctor.events.detector import EventDetector
from proctor.events.vocabulary import SCORED, EventType
from proctor.frames import AUDIO_SAMPLE_RATE, AudioChunk
from proctor.policy import PRESETS
from tests.fixtures.fetch import FACTS
from tests.fixtures.scenarios import Scenario, build_seat_change, build_two_people

pytestmark = pytest.mark.slow
INTERIM = PRESETS["interim"]


def of_type(result: AnalysisResult, kind: EventType) -> list[tuple[float, float]]:
    return [(e.start_s, e.end_s) for e in result.events if e.type is kind]


def test_face_leaving_yields_face_absent_over_the_right_span(media: Path) -> None:
    result = analyze_recording(media / "face_noface.mov", None, INTERIM)
    (span,) = of_type(result, EventType.FACE_ABSENT)
    assert span[0] == pytest.approx(FACTS["face_noface.mov"].face_until_s, abs=1.0)
    assert span[1] == pytest.approx(result.info.duration_s, abs=1.0)
    absent = next(e for e in result.events if e.type is EventType.FACE_ABSENT)
    assert absent.evidence_image is not None


def test_face_arriving_ends_face_absent(media: Path) -> None:
    result = analyze_recording(media / "noface_face.mov", None, INTERIM)
    (span,) = of_type(result, EventType.FACE_ABSENT)
    assert span[0] == pytest.approx(0.0, abs=1.0)
    assert span[1] == pytest.approx(FACTS["noface_face.mov"].face_from_s, abs=1.0)


def test_clean_one_face_clip_yields_no_misconduct(media: Path, tmp_path: Path) -> None:
    recording = media / "WolfgangLanger_Pexels.mp4"
    frame = next(f for f in iter_frames(recording, 1.0) if f.timestamp_s >= 13.0)
    reference = tmp_path / "reference.jpg"
    cv2.imwrite(str(reference), frame.image)
    result = analyze_recording(recording, reference, INTERIM)
    assert [e.type.value for e in result.events if e.type in SCORED] == []
    assert result.score.total == 0.0
    assert result.stages.identity >= 2  # checked on schedule (≥ every 10 s), not every frame
    assert result.stages.identity < result.stages.frames / 10
    assert result.stages.pose < result.stages.frames / 2  # Pose runs at a lower rate


def test_demo_scenario_matches_its_ground_truth(demo: Scenario) -> None:
    result = analyze_recording(demo.video, demo.reference, INTERIM)
    for segment in demo.truth:
        for expected in segment.expect:
            spans = of_type(result, EventType(expected))
            overlap = [s for s in spans if s[0] < segment.end_s + 1.0 and s[1] > segment.start_s - 1.0]
            assert overlap, f"{expected} missing in {segment.what} ({segment.start_s}–{segment.end_s} s): {spans}"
    for kind in (
        EventType.FACE_ABSENT,
        EventType.MULTIPLE_FACES,
        EventType.IDENTITY_MISMATCH,
        EventType.SPEECH_DETECTED,
    ):
        truth = demo.span(kind.value)
        ((start, end),) = of_type(result, kind)
        assert start == pytest.approx(truth.start_s, abs=0.5), kind
        assert end == pytest.approx(truth.end_s, abs=0.5), kind
    assert of_type(result, EventType.BODY_MOVEMENT) == []  # nobody's torso moved in a way a rule calls movement


def test_a_second_person_leaning_in_moves_no_body(tmp_path: Path) -> None:
    """Pose follows one person: while a visitor is beside the still candidate it may jump to them. That is
    two faces (multiple_faces), never the candidate's torso moving or turning (body_movement)."""
    scenario = build_two_people(tmp_path / "two")
    result = analyze_recording(scenario.video, scenario.reference, INTERIM)
    assert of_type(result, EventType.BODY_MOVEMENT) == []
    visits = [s for s in scenario.truth if s.expect]
    spans = of_type(result, EventType.MULTIPLE_FACES)
    assert len(spans) == len(visits)
    for (start, end), visit in zip(spans, visits, strict=True):
        assert start == pytest.approx(visit.start_s, abs=0.5) and end == pytest.approx(visit.end_s, abs=0.5)


def test_the_candidate_moving_their_seat_is_body_movement(tmp_path: Path) -> None:
    scenario = build_seat_change(tmp_path / "seat")
    result = analyze_recording(scenario.video, scenario.reference, INTERIM)
    move = scenario.span("body_movement")
    ((start, _end),) = of_type(result, EventType.BODY_MOVEMENT)
    pose_period = 1.0 / INTERIM.body.rate_hz  # Pose samples once a period: the move is seen by the next sample
    assert move.start_s <= start <= move.end_s + 0.2, (start, move)
    assert start - move.start_s <= pose_period + 0.2


def _audio_events(chunks: list[AudioChunk]) -> set[EventType]:
    analyzer, detector = AudioAnalyzer(INTERIM.audio), EventDetector(INTERIM)
    for chunk in chunks:
        detector.feed_audio(analyzer.observe(chunk))
    end = chunks[-1].timestamp_s + chunks[-1].duration_s
    return {e.type for e in detector.finish(end)}


def _room_hiss(seconds: int, start_s: float = 0.0) -> list[AudioChunk]:
    rng = np.random.default_rng(3)
    return [AudioChunk(start_s + i, rng.normal(0, 30, AUDIO_SAMPLE_RATE).astype(np.int16)) for i in range(seconds)]


def test_speech_yields_speech_detected(media: Path) -> None:
    speech = list(iter_audio(media / "speech_60s.wav", 1.0))[:10]
    chunks = _room_hiss(5) + [AudioChunk(c.timestamp_s + 5, c.samples) for c in speech]
    assert EventType.SPEECH_DETECTED in _audio_events(chunks)


def test_silence_and_room_hiss_yield_no_speech() -> None:
    events = _audio_events(_room_hiss(15))
    assert EventType.SPEECH_DETECTED not in events
    assert EventType.NOISE_HIGH not in events


def test_speech_is_allowed_for_oral_exams(media: Path) -> None:
    policy = INTERIM.model_copy(update={"allowances": INTERIM.allowances.model_copy(update={"speech": True})})
    analyzer, detector = AudioAnalyzer(policy.audio), EventDetector(policy)
    for chunk in iter_audio(media / "speech_60s.wav", 1.0):
        detector.feed_audio(analyzer.observe(chunk))
    assert EventType.SPEECH_DETECTED not in {e.type for e in detector.finish(60.0)}


def test_covered_lens_is_technical_not_face_absent(media: Path, tmp_path: Path) -> None:
    from tests.fixtures.scenarios import write_video

    dark = [np.full((360, 640, 3), 3, dtype=np.uint8) for _ in range(15 * 8)]
    video = tmp_path / "covered.mp4"
    write_video(video, dark, None)
    result = analyze_recording(video, None, INTERIM)
    kinds = {e.type for e in result.events}
    assert EventType.CAMERA_BLOCKED in kinds
    assert EventType.AUDIO_LOST in kinds  # no audio stream at all
    assert EventType.FACE_ABSENT not in kinds
    assert result.score.total == 0.0


def test_head_turns_beyond_the_policy_limit_are_looking_away(media: Path) -> None:
    """The WolfgangLanger speaker turns his head up to ~20° from his neutral pose: within the default
    limit (no event), beyond a strict 10° limit (events whose measured yaw exceeds the limit)."""
    recording = media / "WolfgangLanger_Pexels.mp4"
    strict = INTERIM.model_copy(update={"head_pose": INTERIM.head_pose.model_copy(update={"yaw_limit_deg": 10.0})})
    events = [e for e in analyze_recording(recording, None, strict).events if e.type is EventType.LOOKING_AWAY]
    assert events
    for event in events:
        assert event.duration_s >= strict.timing(EventType.LOOKING_AWAY).on_s
        yaw, pitch = float(event.measurements["yaw_deg"]), float(event.measurements["pitch_deg"])
        assert abs(yaw) > 10.0 or abs(pitch) > strict.head_pose.pitch_down_limit_deg
    default = analyze_recording(recording, None, INTERIM).events
    assert EventType.LOOKING_AWAY not in {e.type for e in default}
