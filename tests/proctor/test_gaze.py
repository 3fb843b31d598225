"""Gaze measured honestly: real faces whose irises are moved by a known shift (tests/fixtures/gaze.py), run
through FaceMesh as the pipeline calls it, and through the whole pipeline as a frame sequence.

Measured (2026-12, mediapipe 0.10.14): FaceMesh reports 0.45–0.97 of a known sideways shift of 0.1 or 0.2 eye
widths (median ≈ 0.65), always in the right direction, at 640 and 320 px alike; hence the tolerance below.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from proctor.analyzers.faces import FaceBox, FaceDetections
from proctor.analyzers.gaze import EyeRatios, EyesBox, Gaze
from proctor.analyzers.headpose import HeadPose, HeadPoseEstimator
from proctor.analyzers.quality import ImageQuality
from proctor.errors import InputError
from proctor.events.detector import EventDetector
from proctor.events.event import Event, Severity
from proctor.events.vocabulary import EventType
from proctor.frames import Frame, Image, bgr_to_rgb
from proctor.observations import VisualObservation
from proctor.policy import PRESETS, Policy, policy_from_dict
from proctor.stream import StreamAnalysis
from tests.fixtures.fetch import media_path
from tests.fixtures.gaze import landmarks_of, shift_irises

INTERIM = PRESETS["interim"]
GAZE = policy_from_dict({"gaze": {"enabled": True}})
RATE_HZ = INTERIM.analysis_rate_hz
MIN_SHARE, MAX_SHARE = 0.35, 1.1
"""The share of a known iris shift the measured ratio must show (measured: 0.45–0.97)."""
TURN = 0.25
"""The sequences' iris shift in eye widths: ≈ 38° of eye rotation (12 mm eyeball, 30 mm eye), a sideways look
at something beside the screen with the head kept still; measured ≈ 0.16–0.19, over the 0.12 threshold."""
WITHIN_S = 0.5


def portrait(name: str, width: int) -> Image:
    """A face photo resized to `width` pixels wide (its own aspect)."""
    image = cv2.imread(str(media_path(name)))
    scale = width / image.shape[1]
    return np.asarray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def webcam(width: int) -> Image:
    """obama.jpg cut to 4:3 around the face and sized as a webcam frame (640×480, or the live 320×240)."""
    image = cv2.imread(str(media_path("obama.jpg")))
    height = image.shape[1] * 3 // 4
    top = (image.shape[0] - height) // 2 - image.shape[0] // 10
    crop = image[top : top + height]
    return np.asarray(cv2.resize(crop, (width, width * 3 // 4), interpolation=cv2.INTER_AREA), dtype=np.uint8)


@pytest.fixture(scope="module")
def estimator() -> Iterator[HeadPoseEstimator]:
    head = HeadPoseEstimator(iris=True)
    yield head
    head.close()


def horizontal(estimator: HeadPoseEstimator, image: Image) -> float:
    """The measured iris ratio, as the pipeline measures it (FaceMesh tracking from a blank frame)."""
    estimator.measure_rgb(np.zeros_like(bgr_to_rgb(image)))  # forget the last face: detect afresh
    measure = estimator.measure_rgb(bgr_to_rgb(image))
    assert measure is not None and measure.eyes is not None
    return measure.eyes.horizontal


@pytest.mark.parametrize("width", [640, 320])
@pytest.mark.parametrize("name", ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"])
def test_the_measured_iris_ratio_follows_a_known_shift(estimator: HeadPoseEstimator, name: str, width: int) -> None:
    image = portrait(name, width)
    face = landmarks_of(image)
    before = horizontal(estimator, image)
    for shift in (-0.2, -0.1, 0.1, 0.2):
        moved = horizontal(estimator, shift_irises(image, face, shift)) - before
        assert np.sign(moved) == np.sign(shift), (shift, moved)
        assert MIN_SHARE * abs(shift) <= abs(moved) <= MAX_SHARE * abs(shift), (shift, moved)


def run_sequence(image: Image, moved: Image, start_s: float, end_s: float, policy: Policy = GAZE) -> list[Event]:
    """14 s of the photo at the analysis rate, the moved picture over [start_s, end_s), through the pipeline."""
    analysis = StreamAnalysis(policy, None)
    try:
        for index in range(int(14 * RATE_HZ)):
            t = index / RATE_HZ
            analysis.frame(Frame(index, t, moved if start_s <= t < end_s - 1e-9 else image))
        return list(analysis.finish(14.0).events)
    finally:
        analysis.close()


@pytest.mark.parametrize("width", [640, 320])
@pytest.mark.parametrize("shift", [TURN, -TURN])
def test_four_seconds_of_turned_eyes_make_one_gaze_away_event(width: int, shift: float) -> None:
    image = webcam(width)
    events = run_sequence(image, shift_irises(image, landmarks_of(image), shift), 7.0, 11.0)
    (event,) = [e for e in events if e.type is EventType.GAZE_AWAY]
    assert abs(event.start_s - 7.0) <= WITHIN_S and abs(event.end_s - 11.0) <= WITHIN_S
    assert event.severity is Severity.LOW
    assert np.sign(float(event.measurements["gaze_offset"])) == np.sign(shift)
    assert event.evidence_image is not None and event.evidence_image.shape == image.shape
    assert not [e for e in events if e.type is not EventType.GAZE_AWAY]  # nothing else: the head never moved


def test_a_short_glance_makes_no_event() -> None:
    image = webcam(640)
    events = run_sequence(image, shift_irises(image, landmarks_of(image), TURN), 7.0, 8.5)
    assert events == []


def test_no_face_makes_no_gaze_claim() -> None:
    scenery = portrait("free-mountain-vector-01.jpg", 640)
    analysis = StreamAnalysis(GAZE, None)
    try:
        observations = [analysis.frame(Frame(i, i / RATE_HZ, scenery)) for i in range(int(6 * RATE_HZ))]
        events = analysis.finish(6.0).events
    finally:
        analysis.close()
    assert all(obs is not None and obs.gaze is None for obs in observations)
    assert EventType.GAZE_AWAY not in {e.type for e in events}


def test_turned_eyes_make_no_event_when_gaze_is_off() -> None:
    """Off (the presets' default), FaceMesh runs without the iris refinement: no gaze at all."""
    image = webcam(640)
    assert not INTERIM.gaze.enabled
    assert run_sequence(image, shift_irises(image, landmarks_of(image), TURN), 7.0, 11.0, INTERIM) == []


# The rule itself, on observations made up for the purpose (what FaceMesh would have said).

FACE = FaceDetections((FaceBox(100.0, 80.0, 120.0, 120.0, 0.9),))
CLEAR = ImageQuality(brightness=120.0, contrast=50.0, low_light=False, blocked=False)
EYES = EyeRatios(0.0, 0.0, 0.25, 30.0)
BOX = EyesBox(120, 110, 200, 140)


def gaze_events(
    policy: Policy, offset: float, head: HeadPose, vertical: float = 0.0, readable: bool = True
) -> list[Event]:
    """6 s of one face whose gaze (and head) stays at the given offsets, every frame measured."""
    detector = EventDetector(policy)
    image = np.zeros((240, 320, 3), np.uint8)
    for index in range(int(6 * RATE_HZ)):
        gaze = Gaze(offset, offset, vertical, readable, EYES, BOX)
        obs = VisualObservation(index / RATE_HZ, CLEAR, 0.0, FACE, head, None, None, None, True, gaze=gaze)
        detector.feed_visual(obs, image)
    return detector.finish(6.0)


STILL = HeadPose(0.0, 0.0, 0.0)


def test_a_persistent_sideways_gaze_is_one_event() -> None:
    (event,) = gaze_events(GAZE, 0.2, STILL)
    assert event.type is EventType.GAZE_AWAY and event.start_s == 0.0 and event.end_s == pytest.approx(6.0)


def test_looking_down_is_never_gaze_away() -> None:
    paper = policy_from_dict({"allowances": {"looking_down": True}, "gaze": {"enabled": True}})
    for policy in (GAZE, paper):
        assert gaze_events(policy, 0.2, HeadPose(0.0, -15.0, 0.0), vertical=-0.2) == []


def test_unreadable_eyes_make_no_claim() -> None:
    assert gaze_events(GAZE, 0.3, STILL, readable=False) == []


def test_a_turned_head_alone_is_no_gaze_claim() -> None:
    """Head yaw 25° (within the 30° limit), eyes straight ahead in the head: the head pose's to judge."""
    detector = EventDetector(GAZE)
    image = np.zeros((240, 320, 3), np.uint8)
    for index in range(int(6 * RATE_HZ)):
        gaze = Gaze(0.13, 0.0, 0.0, True, EYES, BOX)
        obs = VisualObservation(
            index / RATE_HZ, CLEAR, 0.0, FACE, HeadPose(25.0, 0.0, 0.0), None, None, None, True, gaze=gaze
        )
        detector.feed_visual(obs, image)
    assert detector.finish(6.0) == []


def test_a_head_beyond_its_limits_is_looking_away_only() -> None:
    events = gaze_events(GAZE, 0.4, HeadPose(40.0, 0.0, 0.0))
    assert [e.type for e in events] == [EventType.LOOKING_AWAY]


def test_gaze_policy_is_one_section() -> None:
    assert INTERIM.timing(EventType.GAZE_AWAY).on_s == INTERIM.gaze.min_duration_s == 2.5
    strict = policy_from_dict({"base": "final", "gaze": {"threshold": 0.1, "min_duration_s": 3.0}})
    assert strict.gaze.threshold == 0.1 and strict.timing(EventType.GAZE_AWAY).on_s == 3.0
    assert 0 < strict.weights.weight(EventType.GAZE_AWAY) < strict.weights.weight(EventType.LOOKING_AWAY)
    with pytest.raises(InputError, match="gaze.min_duration_s"):
        policy_from_dict({"timings": {"gaze_away": {"on_s": 1.0, "off_s": 1.0}}})
