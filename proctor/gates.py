"""Gates: a costly model runs only when the cheaper stages cannot vouch for what it would say.

- **Near faces.** While the last full-range BlazeFace detection saw exactly one face, near the camera (at
  least NEAR_FACE of the frame's width), the short-range BlazeFace model does the counting (1.6 ms a frame
  at 320×240 against 5.4 for the full-range one; on 428 frames of the test recordings at 320 px both
  counted the same faces on all but 2, where the short-range one found a face the full-range one missed).
  The full-range model still runs at least every FULL_RANGE_EVERY_S, on the frame after a jump of motion
  (someone may have come in), and at once whenever the short-range model sees anything else than one near
  face. A face far behind the candidate is therefore found within FULL_RANGE_EVERY_S, not on its first
  frame.
- **Calm head.** While the last measured head pose is well inside the limits (under HEAD_NEAR_LIMIT of each),
  FaceMesh measures every other analysed frame (at least every HEAD_POSE_EVERY_S) and the frames in between
  carry that pose; it measures every frame while the pose is nearer a limit or beyond it, during a
  calibration of the neutral pose, with more than one face, and when the face was lost or came back. A turn
  is thus seen on its first or second frame, and measured densely from there on.
- **Still body.** Pose samples the candidate's torso once a second (body_movement). A sample is left out
  when nothing moved since the last one: the motion energy of every frame in between stayed under
  STILL_MOTION, the candidate's face is where it was (within STILL_SHIFT of its width, the same size), the
  last sample did not see the candidate moving, and the sample before was not left out (so two samples
  are never more than two periods apart: the body_movement rule bridges 2.5). Pose still runs at once
  when the face is lost, and on every sample during the calibration window.

All are on by default and recorded with each analysis (`policy.gates`); tests/proctor/test_gates.py holds
each against ungated analysis of the test recordings: the same events, their times within 0.2 s.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from proctor.analyzers.faces import FaceBox, FaceDetections
from proctor.analyzers.headpose import HeadPose, HeadPoseConfig, NeutralPose

NEAR_FACE = 0.15
"""A face at least this share of the frame's width is near: within the short-range model's reach."""

FULL_RANGE_EVERY_S = 1.0
"""The full-range detector runs at least this often, whatever the short-range one sees."""

MOTION_JUMP = 0.1
"""Motion energy (mean absolute change of the grey thumbnail, 0–1) from which the next frame is counted by the
full-range detector: a sitting candidate stays under 0.08 on the test recordings, someone coming in goes over 0.3."""

HEAD_POSE_EVERY_S = 0.35
"""FaceMesh measures a calm head at least this often (every other frame at 5 frames a second)."""

HEAD_NEAR_LIMIT = 0.5
"""A head pose beyond this share of a limit (yaw, looking up, looking down) is measured on every frame."""

STILL_MOTION = 0.02
"""Motion energy under which a frame is still (the test recordings' sitting candidates: medians 0.007–0.018)."""

STILL_SHIFT = 0.1
"""A face within this share of its width of where it was at the last pose sample (and as large) has not moved."""

_EPSILON_S = 1e-6


class GatesConfig(BaseModel):
    """Which costly models may rest while cheaper stages vouch for them (cost only: events stay the same)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    near_faces: bool = Field(
        True,
        title="Short-range face detector for a near face",
        description="Count faces with BlazeFace's short-range model while one face is near the camera "
        "(the full-range model at least every second and on any change).",
    )
    calm_head: bool = Field(
        True,
        title="Head pose every other frame while calm",
        description="Measure a head pose well within the limits every other frame (every frame near a limit).",
    )
    still_body: bool = Field(
        True,
        title="Pose every other second while still",
        description="Leave out a Pose sample when nothing moved since the last one (never two in a row).",
    )


class FaceGate:
    """Which BlazeFace model counts the faces of a frame."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._last_full_s: float | None = None
        self._near = False
        self._moved = False

    def full_range_due(self, t: float, motion: float) -> bool:
        """Whether this frame is counted by the full-range model (else by the short-range one)."""
        moved, self._moved = self._moved, motion >= MOTION_JUMP
        if not self.enabled or not self._near or self._last_full_s is None:
            return True
        return moved or self._moved or t - self._last_full_s >= FULL_RANGE_EVERY_S - _EPSILON_S

    def counted(self, t: float, faces: FaceDetections, width: int, full_range: bool) -> bool:
        """Note a frame's count; False when the short-range count must be checked by the full-range model."""
        near = faces.count == 1 and faces.faces[0].width >= NEAR_FACE * width
        if full_range:
            self._last_full_s, self._near = t, near
            return True
        return near

    def forget(self) -> None:
        """After a gap: the next frame is counted by the full-range model."""
        self._last_full_s, self._near, self._moved = None, False, False


class HeadGate:
    """Whether FaceMesh measures a frame, and the pose a frame it does not measure carries."""

    def __init__(self, enabled: bool, config: HeadPoseConfig) -> None:
        self.enabled = enabled
        self.config = config
        self.last: HeadPose | None = None
        self._last_s: float | None = None

    def due(self, t: float, faces: int, reacquired: bool, neutral: NeutralPose) -> bool:
        if not self.enabled or faces != 1 or reacquired or self.last is None or self._last_s is None:
            return True
        if not neutral.frozen or t <= neutral.end_s + _EPSILON_S:
            return True  # the neutral pose is being learned: every frame counts
        if t - self._last_s >= HEAD_POSE_EVERY_S - _EPSILON_S:
            return True
        return self._near_a_limit(self.last)

    def measured(self, t: float, head: HeadPose | None) -> None:
        self.last, self._last_s = head, t

    def forget(self) -> None:
        self.last, self._last_s = None, None

    def _near_a_limit(self, head: HeadPose) -> bool:
        config = self.config
        return (
            abs(head.yaw) > HEAD_NEAR_LIMIT * config.yaw_limit_deg
            or head.pitch > HEAD_NEAR_LIMIT * config.pitch_up_limit_deg
            or -head.pitch > HEAD_NEAR_LIMIT * config.pitch_down_limit_deg
        )


class PoseGate:
    """Whether a due Pose sample may be left out because nothing moved since the last one."""

    def __init__(self, enabled: bool, after_s: float) -> None:
        self.enabled = enabled
        self.after_s = after_s
        self._anchor: FaceBox | None = None
        self._moved = True
        self._skipped = False

    def frame(self, motion: float) -> None:
        """Every analysed frame's motion energy (motion between two samples forbids leaving one out)."""
        if motion >= STILL_MOTION:
            self._moved = True

    def may_skip(self, t: float, face: FaceBox | None, moving: bool) -> bool:
        anchor = self._anchor
        if not self.enabled or t <= self.after_s or self._skipped or self._moved or moving:
            return False
        if face is None or anchor is None or anchor.width <= 0:
            return False
        same_place = face.distance_to(anchor) < STILL_SHIFT * anchor.width
        return same_place and abs(face.width / anchor.width - 1.0) < STILL_SHIFT

    def skipped(self) -> None:
        self._skipped = True

    def sampled(self, face: FaceBox | None) -> None:
        self._anchor, self._moved, self._skipped = face, False, False

    def forget(self) -> None:
        self._anchor, self._moved, self._skipped = None, True, False
