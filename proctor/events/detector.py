"""Feeds analysed frames and audio windows through one rule per event type and collects the events.

Events are numbered in the order they open. A listener hears each event when it opens (a snapshot with
its evidence so far) and again when it closes: a live session stores and announces events as they
happen; offline analysis only needs the closed events at the end.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from proctor.analyzers.audio import SILENCE_DBFS, AudioObservation
from proctor.analyzers.gaze import Gaze, eyes_evidence
from proctor.analyzers.headpose import HeadPose
from proctor.events.event import Event, Severity
from proctor.events.rules import EpisodeRule, SeverityFn, Signal
from proctor.events.vocabulary import EventType
from proctor.frames import Image
from proctor.observations import VisualObservation
from proctor.policy import Policy

_SEVERITY = {
    EventType.FACE_ABSENT: SeverityFn(Severity.HIGH, 0.8, body_present_lowers=True),
    EventType.MULTIPLE_FACES: SeverityFn(Severity.HIGH, 0.75),
    EventType.IDENTITY_MISMATCH: SeverityFn(Severity.HIGH, 0.8),
    EventType.LOOKING_AWAY: SeverityFn(Severity.MEDIUM, 0.7),
    EventType.GAZE_AWAY: SeverityFn(Severity.LOW, 0.5),
    EventType.BODY_MOVEMENT: SeverityFn(Severity.LOW, 0.6),
    EventType.SPEECH_DETECTED: SeverityFn(Severity.MEDIUM, 0.7),
    EventType.NOISE_HIGH: SeverityFn(Severity.LOW, 0.6),
    EventType.CAMERA_BLOCKED: SeverityFn(Severity.INFO, 0.9),
    EventType.LOW_LIGHT: SeverityFn(Severity.INFO, 0.9),
    EventType.VIDEO_LOST: SeverityFn(Severity.INFO, 0.99),
    EventType.AUDIO_LOST: SeverityFn(Severity.INFO, 0.9),
}

VISUAL_TYPES = (
    EventType.FACE_ABSENT,
    EventType.MULTIPLE_FACES,
    EventType.IDENTITY_MISMATCH,
    EventType.LOOKING_AWAY,
    EventType.GAZE_AWAY,
    EventType.BODY_MOVEMENT,
    EventType.CAMERA_BLOCKED,
    EventType.LOW_LIGHT,
)
AUDIO_TYPES = (EventType.SPEECH_DETECTED, EventType.NOISE_HIGH, EventType.AUDIO_LOST)


class EventListener(Protocol):
    """Hears events as they happen (a live session); numbers link an event's opening to its closing."""

    def opened(self, event: Event) -> None: ...

    def closed(self, event: Event) -> None: ...


class EventDetector:
    """Turns the observation stream of one exam into closed events (time-ordered per type)."""

    def __init__(
        self,
        policy: Policy,
        listener: EventListener | None = None,
        first_number: int = 0,
        *,
        gaps_from_timestamps: bool = True,
    ) -> None:
        """`gaps_from_timestamps`: a gap in the analysed frames or audio is a lost stream (files). A live source
        samples and may drop frames under load, so it reports the gaps it saw itself (`add_technical`)."""
        self.policy = policy
        self.listener = listener
        self.gaps_from_timestamps = gaps_from_timestamps
        self._next_number = first_number
        self._open_numbers: dict[EventType, int] = {}
        self._rules = {
            event_type: EpisodeRule(
                event_type,
                policy.timing(event_type).on_s,
                policy.timing(event_type).off_s,
                _SEVERITY[event_type],
                policy.timing(event_type).max_gap_s,
            )
            for event_type in (*VISUAL_TYPES, *AUDIO_TYPES)
        }
        self._events: list[Event] = []
        self._frame_period = 1.0 / policy.analysis_rate_hz
        self._last_frame_s: float | None = None
        self._audio_end_s: float | None = None

    @property
    def events(self) -> list[Event]:
        return sorted(self._events, key=lambda e: (e.start_s, e.type.value))

    def feed_visual(self, obs: VisualObservation, image: Image) -> None:
        """One analysed frame; `image` is kept only if it becomes an event's evidence."""
        t = obs.timestamp_s
        last = self._last_frame_s
        if last is not None and self._gap_since(last, t):
            self._add_gap(last + self._frame_period, t)
        self._last_frame_s = t
        for event_type, signal in self._visual_signals(obs, image).items():
            self._feed(event_type, signal)

    def pass_frame(self, timestamp_s: float) -> None:
        """A frame that is deliberately not judged (a room-scan window): time goes on, no gap, no signal."""
        self._last_frame_s = timestamp_s

    def feed_audio(self, obs: AudioObservation) -> None:
        """One audio window; a gap since the previous window is an audio_lost technical event."""
        if self._audio_end_s is not None and self._gap_since(self._audio_end_s, obs.start_s):
            self.add_technical(EventType.AUDIO_LOST, self._audio_end_s, obs.start_s, "no audio received")
        self._audio_end_s = obs.end_s
        duration = obs.end_s - obs.start_s
        silent = obs.level_dbfs <= SILENCE_DBFS
        level = {"level_dbfs": round(obs.level_dbfs, 1), "floor_dbfs": round(obs.floor_dbfs, 1)}
        speech = obs.speech and not self.policy.allowances.speech
        self._feed(
            EventType.SPEECH_DETECTED,
            Signal(
                obs.start_s,
                duration,
                speech,
                obs.speech_share,
                {**level, "speech_share": round(obs.speech_share, 2)},
            ),
        )
        self._feed(EventType.NOISE_HIGH, Signal(obs.start_s, duration, obs.loud, obs.level_dbfs + 100, level))
        self._feed(EventType.AUDIO_LOST, Signal(obs.start_s, duration, silent, 1.0, {"reason": "digital silence"}))

    def add(self, event: Event) -> None:
        """An event found outside the rules (a room scan's), numbered and heard like the others."""
        self._record(dataclasses.replace(event, number=self._take_number()))

    def add_technical(self, event_type: EventType, start_s: float, end_s: float, reason: str) -> None:
        """A technical event known from outside the frames (no audio stream, a dropped connection)."""
        self.add(Event(event_type, start_s, end_s, Severity.INFO, 0.99, start_s, {"reason": reason}))

    def finish(self, end_s: float) -> list[Event]:
        """Close every open rule at the end of the recording and return all events."""
        if self._last_frame_s is not None and self._gap_since(self._last_frame_s, end_s):
            self._add_gap(self._last_frame_s + self._frame_period, end_s)
        for event_type, rule in self._rules.items():
            event = rule.finish()
            if event is not None:
                self._close(event_type, event)
        return self.events

    def _feed(self, event_type: EventType, signal: Signal) -> None:
        rule = self._rules[event_type]
        event = rule.feed(signal)
        if event is not None:
            self._close(event_type, event)
        if rule.opened_now:
            number = self._open_numbers[event_type] = self._take_number()
            if self.listener is not None:
                self.listener.opened(dataclasses.replace(rule.snapshot(), number=number))

    def _gap_since(self, last_s: float, now_s: float) -> bool:
        return self.gaps_from_timestamps and now_s - last_s > self.policy.max_video_gap_s

    def _take_number(self) -> int:
        number, self._next_number = self._next_number, self._next_number + 1
        return number

    def _close(self, event_type: EventType, event: Event) -> None:
        self._record(dataclasses.replace(event, number=self._open_numbers.pop(event_type)))

    def _record(self, event: Event) -> None:
        self._events.append(event)
        if self.listener is not None:
            self.listener.closed(event)

    def _add_gap(self, start_s: float, end_s: float) -> None:
        self.add_technical(EventType.VIDEO_LOST, start_s, end_s, "no video frames")

    def _visual_signals(self, obs: VisualObservation, image: Image) -> dict[EventType, Signal]:
        t, dt = obs.timestamp_s, self._frame_period
        quality = obs.quality
        cannot_see = quality.blocked or quality.low_light
        count = obs.faces.count
        signals = {
            EventType.CAMERA_BLOCKED: Signal(
                t,
                dt,
                quality.blocked,
                255 - quality.contrast,
                {"contrast": round(quality.contrast, 1)},
                image=image,
            ),
            EventType.LOW_LIGHT: Signal(
                t,
                dt,
                quality.low_light,
                255 - quality.brightness,
                {"brightness": round(quality.brightness, 1)},
                image=image,
            ),
            # Darkness or a covered lens is a technical event, never an absent face.
            EventType.FACE_ABSENT: Signal(
                t,
                dt,
                count == 0 and not cannot_see,
                1.0,
                {"faces": 0},
                flags={"body_present": bool(obs.body_present)},
                image=image,
            ),
            EventType.MULTIPLE_FACES: Signal(
                t,
                dt,
                count >= 2,
                float(count),
                {"faces": count, "min_score": round(min((f.score for f in obs.faces.faces), default=0.0), 2)},
                image=image,
            ),
        }
        if obs.identity is not None:
            if obs.identity_of_new_face:
                # two failed checks make an event only when both were of the same face
                self._rules[EventType.IDENTITY_MISMATCH].forget_pending()
            signals[EventType.IDENTITY_MISMATCH] = Signal(
                t,
                dt,
                not obs.identity.match,
                obs.identity.distance,
                {
                    "distance": round(obs.identity.distance, 3),
                    "threshold": self.policy.identity.match_distance,
                },
                image=image,
            )
        if obs.head is not None:
            signals[EventType.LOOKING_AWAY] = self._looking_away(obs.timestamp_s, obs.head, image)
        elif count == 0:
            signals[EventType.LOOKING_AWAY] = Signal(t, dt, False)
        if self.policy.gaze.enabled:
            if obs.gaze is not None and obs.head is not None:
                signals[EventType.GAZE_AWAY] = self._gaze_away(t, obs.gaze, obs.head, image)
            elif count != 1:
                signals[EventType.GAZE_AWAY] = Signal(t, dt, False)  # no face, or not only the candidate's
        if obs.body_motion is not None:
            cfg = self.policy.body
            moving = obs.body_motion.moving(cfg)
            signals[EventType.BODY_MOVEMENT] = Signal(
                t,
                1.0 / cfg.rate_hz,
                moving,
                obs.body_motion.shift + (1 - obs.body_motion.width_ratio),
                {
                    "torso_shift": round(obs.body_motion.shift, 2),
                    "shoulder_ratio": round(obs.body_motion.width_ratio, 2),
                },
                image=image,
            )
        return signals

    def _head_away(self, head: HeadPose) -> bool:
        """The head pose alone is beyond the policy's limits (a looking_away sample)."""
        cfg = self.policy.head_pose
        down_allowed = self.policy.allowances.looking_down or cfg.allow_looking_down
        return (
            abs(head.yaw) > cfg.yaw_limit_deg
            or head.pitch > cfg.pitch_up_limit_deg
            or (head.pitch < -cfg.pitch_down_limit_deg and not down_allowed)
        )

    def _gaze_away(self, t: float, gaze: Gaze, head: HeadPose, image: Image) -> Signal:
        """The eyes turned sideways beyond `gaze.threshold` (and the head not back) while the head stays within
        its limits.

        Never a claim when the eyes cannot be read (closed, lowered, too small), when the candidate looks down
        (the keyboard, paper: the head pose judges that, with the `looking_down` allowance) or while the head
        itself is beyond its limits (looking_away covers that span: no double counting)."""
        cfg = self.policy.gaze
        looking_down = gaze.vertical_offset < -cfg.threshold
        away = gaze.turned(cfg.threshold) and not looking_down and not self._head_away(head)
        return Signal(
            t,
            self._frame_period,
            away,
            abs(gaze.offset) / cfg.threshold,
            {
                "gaze_offset": round(gaze.offset, 3),
                "eye_offset": round(gaze.eye_offset, 3),
                "threshold": cfg.threshold,
                "yaw_deg": round(head.yaw, 1),
                "eye_width_px": round(gaze.eyes.width_px, 1),
            },
            image=eyes_evidence(image, gaze.box) if away else None,
        )

    def _looking_away(self, t: float, head: HeadPose, image: Image) -> Signal:
        cfg = self.policy.head_pose
        away = self._head_away(head)
        strength = max(abs(head.yaw) / cfg.yaw_limit_deg, abs(head.pitch) / cfg.pitch_down_limit_deg)
        return Signal(
            t,
            self._frame_period,
            away,
            strength,
            {
                "yaw_deg": round(head.yaw, 1),
                "pitch_deg": round(head.pitch, 1),
                "roll_deg": round(head.roll, 1),
            },
            image=image,
        )
