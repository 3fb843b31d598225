"""What the cascade saw in one analysed frame: a typed record the event rules read."""

from __future__ import annotations

from dataclasses import dataclass

from proctor.analyzers.body import BodyConfig, BodyObservation
from proctor.analyzers.faces import FaceDetections
from proctor.analyzers.gaze import Gaze
from proctor.analyzers.headpose import HeadPose
from proctor.analyzers.identity import IdentityCheck
from proctor.analyzers.quality import ImageQuality


@dataclass(frozen=True)
class BodyMotion:
    """Torso change between two pose samples: shift in shoulder widths, width relative to calibration."""

    shift: float
    width_ratio: float

    def moving(self, config: BodyConfig) -> bool:
        """Shifted by at least `torso_shift` shoulder widths, or turned (shoulders narrower than `turned_ratio`)."""
        return self.shift >= config.torso_shift or self.width_ratio < config.turned_ratio


@dataclass(frozen=True)
class VisualObservation:
    """One analysed frame. Fields that a stage did not compute this frame are None (not 'false')."""

    timestamp_s: float
    quality: ImageQuality
    motion_energy: float
    faces: FaceDetections
    head: HeadPose | None
    body: BodyObservation | None
    body_motion: BodyMotion | None
    identity: IdentityCheck | None
    body_present: bool | None
    """Whether Pose last saw someone in the seat (carried forward between pose samples)."""
    identity_of_new_face: bool = False
    """The identity check was made on a face just (re)acquired: not the face of the previous check."""
    gaze: Gaze | None = None
    """The eyes, only on a frame FaceMesh measured with one face in view (a carried head pose carries no gaze)."""
