"""Side view analyzer: what the phone beside the candidate sees in one picture — how many people, and how many
of the candidate's hands.

The side camera's pictures are its recording's keyframes (one every 2 s, already decoded when its parts are
checked), so this analyzer sees single pictures far apart: Pose runs in static mode (no tracking between them),
and faces are counted by the same BlazeFace (full range) as the main camera. A person is a face, or a body Pose
finds with its shoulders or head in view (from the side a face is often in profile, which BlazeFace misses);
Pose sees one person, so more than one person shows only as more than one face. Hands are Pose's wrists in view.

Whether the candidate's screen is in view is `screenview.py`'s question (the shared screen's own picture looked
for in the phone's).
"""

from __future__ import annotations

from dataclasses import dataclass

import mediapipe as mp
from pydantic import BaseModel, ConfigDict, Field

from proctor.analyzers.faces import FaceDetector, FacesConfig
from proctor.frames import Image

_POSE = mp.solutions.pose.PoseLandmark
_HEAD = (_POSE.NOSE, _POSE.LEFT_EAR, _POSE.RIGHT_EAR, _POSE.LEFT_EYE, _POSE.RIGHT_EYE)
_SHOULDERS = (_POSE.LEFT_SHOULDER, _POSE.RIGHT_SHOULDER)
_WRISTS = (_POSE.LEFT_WRIST, _POSE.RIGHT_WRIST)


class SideViewConfig(BaseModel):
    """Thresholds of the side view."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_visibility: float = Field(
        0.5, ge=0.05, le=0.99, description="Pose landmark visibility from which a head, shoulder or wrist is in view."
    )
    min_face_fraction: float = Field(
        0.02, ge=0.0, le=0.5, description="Faces narrower than this fraction of the picture are ignored."
    )


@dataclass(frozen=True)
class SideView:
    """What the side camera saw in one picture."""

    people: int
    hands: int

    @property
    def useful(self) -> bool:
        """Someone is in view (a picture of a wall, a ceiling or a covered lens is not)."""
        return self.people > 0


class SideViewer:
    """Counts people and hands in RGB pictures (not thread-safe: one per thread, or behind a lock)."""

    def __init__(self, config: SideViewConfig | None = None) -> None:
        self.config = config or SideViewConfig()
        self._faces = FaceDetector(FacesConfig(min_face_fraction=self.config.min_face_fraction))
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=True, model_complexity=1, enable_segmentation=False, min_detection_confidence=0.5
        )

    def view(self, rgb: Image) -> SideView:
        faces = self._faces.detect_rgb(rgb).count
        result = self._pose.process(rgb)
        body, hands = False, 0
        if result.pose_landmarks is not None:
            marks = result.pose_landmarks.landmark
            seen = self.config.min_visibility
            body = any(marks[i].visibility >= seen for i in (*_HEAD, *_SHOULDERS))
            hands = sum(1 for i in _WRISTS if marks[i].visibility >= seen)
        return SideView(people=max(faces, 1 if body else 0), hands=hands)

    def close(self) -> None:
        self._faces.close()
        self._pose.close()

    def __enter__(self) -> SideViewer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
