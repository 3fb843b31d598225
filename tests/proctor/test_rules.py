"""Persistence and hysteresis of the event rules, and the score built from events."""

from __future__ import annotations

import pytest

from proctor.events.event import Event, Severity
from proctor.events.rules import EpisodeRule, SeverityFn, Signal
from proctor.events.vocabulary import EventType
from proctor.policy import Weights
from proctor.score import compute_score

DT = 0.2


def run(rule: EpisodeRule, pattern: str) -> list[Event]:
    """Feed one sample per character ('#' active, '.' inactive, ' ' no sample) every 0.2 s."""
    events = []
    for i, char in enumerate(pattern):
        if char == " ":
            continue
        event = rule.feed(Signal(i * DT, DT, char == "#", strength=float(i)))
        if event is not None:
            events.append(event)
    last = rule.finish()
    return events + ([last] if last else [])


def rule(on_s: float = 1.0, off_s: float = 0.6, max_gap_s: float = 1.5) -> EpisodeRule:
    return EpisodeRule(EventType.FACE_ABSENT, on_s, off_s, SeverityFn(Severity.HIGH), max_gap_s)


def test_blip_shorter_than_persistence_makes_no_event() -> None:
    assert run(rule(), "....####......") == []


def test_persistent_condition_makes_one_event_with_exact_span() -> None:
    (event,) = run(rule(), "..#######.........")
    assert event.start_s == pytest.approx(0.4)
    assert event.end_s == pytest.approx(1.8)
    assert event.peak_s == pytest.approx(1.6)  # the strongest sample


def test_short_dropout_does_not_split_an_event() -> None:
    (event,) = run(rule(), "######..######.....")
    assert event.start_s == pytest.approx(0.0)
    assert event.end_s == pytest.approx(2.8)


def test_long_dropout_splits_events() -> None:
    assert len(run(rule(), "######.....######.....")) == 2


def test_samples_far_apart_never_bridge() -> None:
    assert run(rule(on_s=0.3, max_gap_s=1.0), "#          #") == []


def test_open_event_is_closed_at_the_end() -> None:
    (event,) = run(rule(), "....##########")
    assert event.end_s == pytest.approx(2.8)


def test_body_present_lowers_face_absent_severity() -> None:
    r = EpisodeRule(EventType.FACE_ABSENT, 1.0, 0.6, SeverityFn(Severity.HIGH, body_present_lowers=True))
    for i in range(10):
        r.feed(Signal(i * DT, DT, True, flags={"body_present": i > 2}))
    event = r.finish()
    assert event is not None
    assert event.measurements["body_present"] is True
    assert event.severity is Severity.LOW


def _event(kind: EventType, start: float, end: float, **measurements: bool) -> Event:
    return Event(kind, start, end, Severity.HIGH, 0.9, start, dict(measurements))


def test_score_is_share_times_weight_and_ignores_technical_events() -> None:
    events = [
        _event(EventType.MULTIPLE_FACES, 0, 6),
        _event(EventType.CAMERA_BLOCKED, 10, 70),
        _event(EventType.VIDEO_LOST, 80, 90),
    ]
    score = compute_score(events, 100.0, Weights())
    assert [c.type for c in score.contributions] == [EventType.MULTIPLE_FACES]
    assert score.total == pytest.approx(100 * 0.06 * Weights().weight(EventType.MULTIPLE_FACES))


def test_score_recomputes_with_new_weights_and_caps_at_100() -> None:
    events = [_event(EventType.LOOKING_AWAY, 0, 10), _event(EventType.SPEECH_DETECTED, 20, 30)]
    base = compute_score(events, 100.0, Weights(per_type={EventType.LOOKING_AWAY: 1.0, EventType.SPEECH_DETECTED: 1.0}))
    heavier = compute_score(
        events, 100.0, Weights(per_type={EventType.LOOKING_AWAY: 3.0, EventType.SPEECH_DETECTED: 1.0})
    )
    assert base.total == pytest.approx(20.0)
    assert heavier.total == pytest.approx(40.0)
    assert compute_score(events, 100.0, Weights(per_type={EventType.LOOKING_AWAY: 100.0})).total == 100.0


def test_face_absent_with_body_present_weighs_far_less() -> None:
    empty_seat = compute_score([_event(EventType.FACE_ABSENT, 0, 10, body_present=False)], 100.0, Weights())
    missed_face = compute_score([_event(EventType.FACE_ABSENT, 0, 10, body_present=True)], 100.0, Weights())
    assert missed_face.total == pytest.approx(empty_seat.total * Weights().face_absent_body_present)
    assert missed_face.total < empty_seat.total / 4
