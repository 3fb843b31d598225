"""Body analyzer: mediapipe Pose (full model) → is someone in the seat, where is the torso, is it turned.

Only `model_complexity=1` is bundled with mediapipe; 0 and 2 download at run time and must not be used.
"""

from __future__ import annotations

from dataclasses import dataclass

import mediapipe as mp
from pydantic import BaseModel, ConfigDict, Field

from proctor.frames import Image, bgr_to_rgb

_POSE = mp.solutions.pose.PoseLandmark
_HEAD = (_POSE.NOSE, _POSE.LEFT_EAR, _POSE.RIGHT_EAR, _POSE.LEFT_EYE, _POSE.RIGHT_EYE)


class BodyConfig(BaseModel):
    """Thresholds of the pose-based body analyzer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_visibility: float = Field(
        0.5,
        ge=0.05,
        le=0.99,
        title="Landmark visibility",
        description="Pose landmarks less visible than this are treated as not seen.",
    )
    rate_hz: float = Field(
        1.0,
        ge=0.1,
        le=30.0,
        title="Pose rate",
        description="How often Pose runs while a face is visible (it always runs when the face is lost).",
    )
    torso_shift: float = Field(
        0.6,
        ge=0.1,
        le=5.0,
        title="Large torso motion",
        description="Shoulder-centre displacement between pose samples, in shoulder widths, that counts as large.",
    )
    min_shoulder_width: float = Field(
        0.15,
        ge=0.01,
        le=0.9,
        title="Seated person size",
        description="Shoulder width (fraction of the frame) a person in the seat shows; smaller is background.",
    )
    turned_ratio: float = Field(
        0.55,
        ge=0.1,
        le=0.95,
        title="Turned away",
        description="Shoulder width below this fraction of the calibrated width means the torso is turned.",
    )


@dataclass(frozen=True)
class Point:
    """A normalised image point (0–1 on both axes)."""

    x: float
    y: float


@dataclass(frozen=True)
class BodyObservation:
    """What Pose saw in one frame."""

    present: bool
    shoulders_visible: bool
    shoulder_center: Point | None
    shoulder_width: float
    head_visible: bool
    nose: Point | None = None
    """Where the pose's nose is (when visible): tells whose body it is when several people are in view."""


NO_BODY = BodyObservation(
    present=False, shoulders_visible=False, shoulder_center=None, shoulder_width=0.0, head_visible=False
)


class PoseEstimator:
    """mediapipe Pose (full, tracking mode) on BGR frames (about 48 ms on 640×360, so run it sparingly)."""

    def __init__(self, config: BodyConfig | None = None) -> None:
        self.config = config or BodyConfig()
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=False,
            model_complexity=1,
            smooth_landmarks=True,
            enable_segmentation=False,
            min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        )

    def observe(self, image: Image) -> BodyObservation:
        """Run Pose on a BGR image and summarise the torso and head landmarks."""
        return self.observe_rgb(bgr_to_rgb(image))

    def observe_rgb(self, rgb: Image) -> BodyObservation:
        """Run Pose on an RGB image and summarise the torso and head landmarks."""
        result = self._pose.process(rgb)
        if result.pose_landmarks is None:
            return NO_BODY
        marks = result.pose_landmarks.landmark
        seen = self.config.min_visibility

        def visible(index: int) -> bool:
            return bool(marks[index].visibility >= seen)

        head_seen = any(visible(i) for i in _HEAD)
        left, right = marks[_POSE.LEFT_SHOULDER], marks[_POSE.RIGHT_SHOULDER]
        shoulders = visible(_POSE.LEFT_SHOULDER) and visible(_POSE.RIGHT_SHOULDER)
        center = Point((left.x + right.x) / 2, (left.y + right.y) / 2) if shoulders else None
        width = float(((left.x - right.x) ** 2 + (left.y - right.y) ** 2) ** 0.5) if shoulders else 0.0
        nose = marks[_POSE.NOSE]
        return BodyObservation(
            present=shoulders and width >= self.config.min_shoulder_width,
            shoulders_visible=shoulders,
            shoulder_center=center,
            shoulder_width=width,
            head_visible=head_seen,
            nose=Point(nose.x, nose.y) if visible(_POSE.NOSE) else None,
        )

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
