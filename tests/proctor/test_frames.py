"""A frame's pictures: RGB for the models and luma for the cheap stages, each made once."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEncoder
from proctor.decode import iter_frames
from proctor.frames import Frame
from proctor.pipeline import CandidateAnalyzer
from proctor.policy import PRESETS
from tests.fixtures.scenarios import Scenario


def test_a_decoded_frame_is_rgb_with_a_bgr_view_and_its_luma_made_once(demo: Scenario) -> None:
    frame = next(iter(iter_frames(demo.video, 5.0)))
    assert frame.image.base is frame.rgb or np.shares_memory(frame.image, frame.rgb)  # a view: no copy
    assert np.array_equal(frame.image, cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
    assert frame.rgb.flags.c_contiguous
    assert frame.gray is frame.gray and np.array_equal(frame.gray, cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY))
    later = frame.at(12.5)
    assert later.timestamp_s == 12.5 and later.rgb is frame.rgb and later.gray is frame.gray


def test_a_bgr_frame_makes_its_rgb_once() -> None:
    image = np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    frame = Frame(0, 0.0, image)
    assert frame.rgb is frame.rgb and np.array_equal(frame.rgb, image[:, :, ::-1])


def test_the_cascade_converts_a_decoded_frame_once_whatever_ran(
    demo: Scenario, detector: FaceDetector, encoder: FaceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BlazeFace, FaceMesh, Pose and the identity check all read the frame's one RGB picture; only the luma of
    the cheap stages is made from it (one cv2.cvtColor a frame)."""
    policy = PRESETS["interim"]
    frames = list(iter_frames(demo.video, 5.0))[:10]
    reference = encoder.encode(frames[0].image, detector.detect(frames[0].image).faces[0])
    analyzer = CandidateAnalyzer(policy, reference, detector, encoder)
    calls: list[Any] = []
    convert = cv2.cvtColor

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[1] if len(args) > 1 else kwargs.get("code"))
        return convert(*args, **kwargs)

    monkeypatch.setattr(cv2, "cvtColor", counted)
    try:
        for frame in frames:
            analyzer.analyze(frame)
    finally:
        analyzer.close()
    assert analyzer.counts.pose >= 1 and analyzer.counts.identity >= 1 and analyzer.counts.head_pose >= 1
    assert calls == [cv2.COLOR_RGB2GRAY] * len(frames)
