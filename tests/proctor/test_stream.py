"""One pipeline, two sources: a recording fed as a file and fed as a live source (frames sampled by their own
sampler, audio in 20 ms pieces, events heard as they open) gives the same events."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from proctor.analyze import analyze_recording, enroll_photo
from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEncoder
from proctor.decode import iter_audio, iter_frames
from proctor.events.event import Event
from proctor.events.vocabulary import EventType
from proctor.frames import AUDIO_SAMPLE_RATE, AudioChunk, Frame
from proctor.policy import PRESETS
from proctor.stream import AudioWindower, FrameSampler, StreamAnalysis
from tests.fixtures.scenarios import Scenario

POLICY = PRESETS["interim"]
FRAME_S = 1.0 / POLICY.analysis_rate_hz


@dataclass
class Heard:
    opened: list[Event] = field(default_factory=list)
    closed: list[Event] = field(default_factory=list)


class Listener:
    def __init__(self, heard: Heard) -> None:
        self.heard = heard

    def opened(self, event: Event) -> None:
        self.heard.opened.append(event)

    def closed(self, event: Event) -> None:
        self.heard.closed.append(event)


def live_feed(video: Path, stream: StreamAnalysis) -> float:
    """Feed a recording as the live source does: every decoded frame through a sampler of its own, audio in
    20 ms pieces cut into windows, the two interleaved by time."""
    sampler = FrameSampler(POLICY.analysis_rate_hz)
    windower = AudioWindower(POLICY.audio.window_s)
    pieces = list(iter_audio(video, 0.02))
    next_piece = 0
    end = 0.0
    for frame in iter_frames(video):
        while next_piece < len(pieces) and pieces[next_piece].timestamp_s <= frame.timestamp_s:
            piece = pieces[next_piece]
            for window in windower.add(piece.timestamp_s, piece.samples):
                stream.audio(window)
            next_piece += 1
        if sampler.due(frame.timestamp_s):
            stream.frame(Frame(frame.index, frame.timestamp_s, frame.image))
        end = frame.timestamp_s
    for piece in pieces[next_piece:]:
        for window in windower.add(piece.timestamp_s, piece.samples):
            stream.audio(window)
    if (rest := windower.flush()) is not None:
        stream.audio(rest)
    return end


@pytest.mark.slow
def test_a_recording_gives_the_same_events_as_a_file_and_as_a_live_source(demo: Scenario) -> None:
    offline = analyze_recording(demo.video, demo.reference, POLICY).events
    detector, encoder = FaceDetector(POLICY.faces), FaceEncoder()
    reference = enroll_photo(demo.reference, POLICY, detector, encoder)
    heard = Heard()
    stream = StreamAnalysis(POLICY, reference, detector, encoder, Listener(heard), source_reports_gaps=True)
    try:
        end = live_feed(demo.video, stream)
        live = stream.finish(end).events
    finally:
        stream.close()
        detector.close()
    assert [e.type for e in live] == [e.type for e in offline]
    for got, want in zip(live, offline, strict=True):
        assert got.start_s == pytest.approx(want.start_s, abs=FRAME_S + 1e-6), (got, want)
        assert got.end_s == pytest.approx(want.end_s, abs=FRAME_S + 1e-6), (got, want)
    # every event was heard when it opened (before it closed), under the number it closed with
    opened = {event.number: event for event in heard.opened}
    assert heard.closed and {e.number for e in heard.closed} == {e.number for e in live}
    for event in (e for e in heard.closed if e.number in opened):
        first = opened[event.number]
        assert (first.type, first.start_s) == (event.type, event.start_s)
        assert first.end_s <= event.end_s
    assert sorted(e.number for e in live) == list(range(len(live)))


def test_audio_windows_are_whole_and_timed_by_their_first_sample() -> None:
    windower = AudioWindower(1.0)
    ten_ms = AUDIO_SAMPLE_RATE // 100
    windows: list[AudioChunk] = []
    for k in range(250):  # 2.5 s in 10 ms pieces
        windows += windower.add(k / 100, np.full(ten_ms, k, dtype=np.int16))
    assert [w.timestamp_s for w in windows] == [0.0, 1.0]
    assert all(len(w.samples) == AUDIO_SAMPLE_RATE for w in windows)
    rest = windower.flush()
    assert rest is not None and rest.timestamp_s == pytest.approx(2.0) and rest.duration_s == pytest.approx(0.5)
    later = windower.add(10.0, np.zeros(AUDIO_SAMPLE_RATE, dtype=np.int16))  # a jump in time starts afresh
    assert [w.timestamp_s for w in later] == [10.0]


def test_the_sampler_keeps_an_even_rate_of_any_source() -> None:
    sampler = FrameSampler(5.0)
    kept = [t / 30 for t in range(90) if sampler.due(t / 30)]  # 30 fps for 3 s
    assert len(kept) == 15
    gaps = np.diff(kept)
    assert gaps.min() >= 0.19 and gaps.max() <= 0.21


def test_a_calibration_asked_for_learns_the_neutral_pose_over_its_own_window(demo: Scenario) -> None:
    # the candidate sits at the desk for the demo's first seconds: calibrate from 0.5 s for 1.5 s
    policy = POLICY.model_copy(update={"head_pose": POLICY.head_pose.model_copy(update={"calibration_s": 1.5})})
    stream = StreamAnalysis(policy, None)
    try:
        stream.calibrate(0.5)
        seen = []
        for frame in iter_frames(demo.video, rate_hz=policy.analysis_rate_hz):
            if frame.timestamp_s > 2.5:
                break
            stream.frame(frame)
            seen.append((frame.timestamp_s, stream.calibration()))
    finally:
        stream.close()
    assert all(done is None for t, done in seen if t <= 2.0)  # not before its window has passed
    done = seen[-1][1]
    assert done is not None and done.start_s == 0.5 and done.end_s == 2.0
    in_window = sum(1 for t, _ in seen if 0.5 <= t <= 2.0)
    assert done.samples == in_window  # every frame of the window, and none before it
    assert abs(done.yaw_deg) < 30 and abs(done.pitch_deg) < 30  # facing the camera


def test_page_events_join_the_sessions_events_with_their_times() -> None:
    stream = StreamAnalysis(POLICY, None)
    try:
        stream.page_event(EventType.TAB_HIDDEN, 12.5, 15.0, {"reason": "visibility"})
        with pytest.raises(ValueError, match="not reported by the page"):
            stream.page_event(EventType.FACE_ABSENT, 1.0, 2.0, {})
        result = stream.finish(20.0)
    finally:
        stream.close()
    (event,) = result.events
    assert (event.type, event.start_s, event.end_s) == (EventType.TAB_HIDDEN, 12.5, 15.0)
    assert event.measurements["source"] == "page"
