"""Proctoring policy: every threshold, persistence and weight, as pydantic models that reject unknown keys.

Presets `interim` and `final` match the two TVET attestation kinds; a policy file (JSON) may name a
preset as `base` and override any field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from footprint import jsonlimits
from proctor.analyzers.audio import AudioConfig
from proctor.analyzers.body import BodyConfig
from proctor.analyzers.faces import FacesConfig
from proctor.analyzers.gaze import GazeConfig
from proctor.analyzers.headpose import HeadPoseConfig
from proctor.analyzers.identity import IdentityConfig
from proctor.analyzers.quality import QualityConfig
from proctor.errors import InputError
from proctor.events.vocabulary import SCORED, EventType
from proctor.gates import GatesConfig
from proctor.material.config import MaterialConfig
from proctor.roomscan.config import RoomScanConfig


class RuleTiming(BaseModel):
    """Persistence and hysteresis of one event rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_s: float = Field(ge=0.0, le=120.0, description="The condition must hold this long before an event opens.")
    off_s: float = Field(ge=0.0, le=120.0, description="The condition must be gone this long before it closes.")
    max_gap_s: float = Field(
        1.5, ge=0.1, le=120.0, description="Active samples further apart than this never join one event."
    )


DEFAULT_TIMINGS: dict[EventType, RuleTiming] = {
    EventType.FACE_ABSENT: RuleTiming(on_s=3.0, off_s=1.0),
    EventType.MULTIPLE_FACES: RuleTiming(on_s=1.5, off_s=1.0),
    # identity is checked every 2 s while it mismatches: two mismatching checks in a row make an event
    EventType.IDENTITY_MISMATCH: RuleTiming(on_s=1.5, off_s=0.0, max_gap_s=3.0),
    EventType.LOOKING_AWAY: RuleTiming(on_s=2.0, off_s=1.0),
    EventType.BODY_MOVEMENT: RuleTiming(on_s=1.0, off_s=1.0, max_gap_s=2.5),
    EventType.NOISE_HIGH: RuleTiming(on_s=1.0, off_s=1.0, max_gap_s=2.0),
    EventType.CAMERA_BLOCKED: RuleTiming(on_s=2.0, off_s=1.0),
    EventType.LOW_LIGHT: RuleTiming(on_s=3.0, off_s=1.0),
    EventType.VIDEO_LOST: RuleTiming(on_s=2.0, off_s=0.0),
    EventType.AUDIO_LOST: RuleTiming(on_s=5.0, off_s=1.0, max_gap_s=2.0),
    EventType.SPEECH_DETECTED: RuleTiming(on_s=2.0, off_s=1.0, max_gap_s=2.0),
}

GAZE_OFF_S = 1.0
"""A gaze_away event closes once the eyes were back (or unreadable) this long (as looking_away)."""

DEFAULT_WEIGHTS: dict[EventType, float] = {
    EventType.FACE_ABSENT: 1.5,
    EventType.MULTIPLE_FACES: 4.0,
    EventType.IDENTITY_MISMATCH: 8.0,
    EventType.LOOKING_AWAY: 1.0,
    EventType.GAZE_AWAY: 0.3,
    EventType.BODY_MOVEMENT: 0.5,
    EventType.SPEECH_DETECTED: 1.5,
    EventType.NOISE_HIGH: 0.3,
    EventType.ROOM_SCAN_INCOMPLETE: 2.0,
    EventType.PERSON_IN_ROOM: 6.0,
    EventType.TAB_HIDDEN: 3.0,
    EventType.FOCUS_LOST: 2.0,
    EventType.FULLSCREEN_EXITED: 1.0,
    EventType.SCREEN_SHARE_STOPPED: 3.0,
    EventType.SECOND_DISPLAY: 2.0,
    EventType.COPY_PASTE: 2.0,
}


class Allowances(BaseModel):
    """What the exam allows, so that it is never flagged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    looking_down: bool = Field(False, description="Paper-based tasks: looking down is never looking away.")
    speech: bool = Field(False, description="Oral answers: speech is expected and never flagged.")


class BrowserConfig(BaseModel):
    """What the exam page asks of the candidate's browser, and reports."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    screen_share: bool = Field(
        False,
        description="The candidate shares the entire screen (getDisplayMedia): it is recorded beside the camera, "
        "and stopping it is a screen_share_stopped event. A window or a tab is refused.",
    )
    fullscreen: bool = Field(
        False, description="The exam runs in full screen; leaving it is a fullscreen_exited event."
    )
    integrity_events: bool = Field(
        True, description="The page reports tab_hidden, focus_lost, second_display and copy_paste during the exam."
    )


class SideCameraConfig(BaseModel):
    """A second camera: the candidate's phone beside them, joined by a QR code on the student page's system check
    (`proctor/sessions/side_camera.py`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    required: bool = Field(
        False,
        description="The student page shows the phone's QR code and link; the phone's camera is recorded as the "
        "session's side track, analysed (people and hands in view) and played beside the camera on the desk.",
    )
    max_gap_s: float = Field(
        10.0, ge=4.0, le=300.0, description="A stretch without the phone's recording longer than this: it left."
    )
    blind_share: float = Field(
        0.8,
        ge=0.1,
        le=1.0,
        description="The phone sees nobody in at least this share of its pictures: flagged as placed uselessly.",
    )


class Weights(BaseModel):
    """Score weights per event type: contribution = 100 × share of exam time × weight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_type: dict[EventType, float] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS),
        description="Weight of each scored event type (technical types cannot be weighted).",
    )
    face_absent_body_present: float = Field(
        0.15,
        ge=0.0,
        le=1.0,
        description="Factor on face_absent when the body is still in the seat (detector miss, angle, darkness).",
    )

    @field_validator("per_type")
    @classmethod
    def _only_scored(cls, value: dict[EventType, float]) -> dict[EventType, float]:
        for event_type, weight in value.items():
            if event_type not in SCORED:
                raise ValueError(f"{event_type.value} is technical or informational and never scored")
            if not 0.0 <= weight <= 100.0:
                raise ValueError(f"weight of {event_type.value} must be within 0–100, got {weight}")
        return {**DEFAULT_WEIGHTS, **value}

    def weight(self, event_type: EventType) -> float:
        return self.per_type.get(event_type, 0.0) if event_type in SCORED else 0.0


class ReviewBands(BaseModel):
    """Where the examiner desk draws its green / yellow / red bands on the score (a triage aid, never a verdict)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    yellow_from: float = Field(10.0, ge=0.0, le=100.0, description="Scores from here are yellow: worth a look.")
    red_from: float = Field(30.0, ge=0.0, le=100.0, description="Scores from here are red: review these first.")

    @model_validator(mode="after")
    def _ordered(self) -> ReviewBands:
        if self.red_from < self.yellow_from:
            raise ValueError("red_from must not be below yellow_from")
        return self

    def band(self, score: float | None) -> str | None:
        """green, yellow or red (None for a session not scored yet)."""
        if score is None:
            return None
        return "red" if score >= self.red_from else "yellow" if score >= self.yellow_from else "green"


class Policy(BaseModel):
    """Everything that decides what becomes an event and how much it weighs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("interim", min_length=1, max_length=64, description="Policy name shown in reports.")
    analysis_rate_hz: float = Field(5.0, ge=0.5, le=30.0, description="Frames analysed per second of video.")
    faces: FacesConfig = FacesConfig()
    head_pose: HeadPoseConfig = HeadPoseConfig()
    gaze: GazeConfig = GazeConfig()
    body: BodyConfig = BodyConfig()
    identity: IdentityConfig = IdentityConfig()
    audio: AudioConfig = AudioConfig()
    quality: QualityConfig = QualityConfig()
    timings: dict[EventType, RuleTiming] = Field(
        default_factory=lambda: dict(DEFAULT_TIMINGS), description="Persistence/hysteresis per event type."
    )
    allowances: Allowances = Allowances()
    weights: Weights = Weights()
    room_scan: RoomScanConfig = RoomScanConfig()
    browser: BrowserConfig = BrowserConfig()
    side_camera: SideCameraConfig = SideCameraConfig()
    review: ReviewBands = ReviewBands()
    gates: GatesConfig = GatesConfig()
    material: MaterialConfig = MaterialConfig()
    max_video_gap_s: float = Field(
        2.0, ge=0.2, le=60.0, description="A gap between frames longer than this is a video_lost event."
    )

    @field_validator("timings")
    @classmethod
    def _complete_timings(cls, value: dict[EventType, RuleTiming]) -> dict[EventType, RuleTiming]:
        if EventType.GAZE_AWAY in value:
            raise ValueError("gaze_away persists for gaze.min_duration_s: set that, not a timing")
        return {**DEFAULT_TIMINGS, **value}

    def timing(self, event_type: EventType) -> RuleTiming:
        if event_type is EventType.GAZE_AWAY:
            return RuleTiming(on_s=self.gaze.min_duration_s, off_s=GAZE_OFF_S)
        return self.timings.get(event_type, RuleTiming(on_s=0.0, off_s=0.0))


PRESETS: dict[str, Policy] = {
    "interim": Policy(name="interim"),
    "final": Policy(
        name="final",
        head_pose=HeadPoseConfig(yaw_limit_deg=25.0, pitch_down_limit_deg=20.0),
        identity=IdentityConfig(interval_s=5.0, match_distance=0.55),
        weights=Weights(
            per_type={
                **DEFAULT_WEIGHTS,
                EventType.FACE_ABSENT: 2.0,
                EventType.LOOKING_AWAY: 1.5,
                EventType.GAZE_AWAY: 0.5,
                EventType.SPEECH_DETECTED: 2.0,
                EventType.IDENTITY_MISMATCH: 10.0,
            }
        ),
    ),
}


def load_policy(spec: str) -> Policy:
    """A preset name (`interim`, `final`) or a JSON file, optionally with `"base": PRESET` and overrides."""
    if spec in PRESETS:
        return PRESETS[spec]
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"policy {spec!r} is neither a preset ({', '.join(PRESETS)}) nor a readable file")
    try:
        data = jsonlimits.loads(path.read_bytes(), f"policy file {path}")
    except OSError as exc:
        raise InputError(f"policy file {path}: cannot read ({exc.strerror})") from exc
    except jsonlimits.JSONLimitError as exc:
        raise InputError(str(exc)) from exc
    return policy_from_dict(data, source=str(path))


def policy_from_dict(data: Any, source: str = "policy") -> Policy:
    """Validate a policy document; `base` names the preset its fields override (default interim)."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: a policy must be a JSON object")
    overrides = dict(data)
    base_name = overrides.pop("base", "interim")
    if base_name not in PRESETS:
        raise InputError(f"{source}: unknown base preset {base_name!r} (use {', '.join(PRESETS)})")
    merged = _deep_merge(PRESETS[base_name].model_dump(mode="json"), overrides)
    try:
        return Policy.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors())
        raise InputError(f"{source}: invalid policy: {problems}") from exc


def _deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
