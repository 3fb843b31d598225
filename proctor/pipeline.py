"""The analysis cascade for one candidate: cheap stages gate costly ones.

quality + motion (< 1 ms) → BlazeFace (≈ 4 ms) → FaceMesh head pose only with a face (≈ 8 ms)
→ Pose at a low rate, or at once when the face is lost (≈ 48 ms) → dlib identity on a schedule
(≥ every `interval_s` and on every face re-acquisition, never every frame; ≈ 150 ms).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from proctor.analyzers.body import BodyObservation, PoseEstimator
from proctor.analyzers.faces import FaceBox, FaceDetector
from proctor.analyzers.headpose import HeadPoseEstimator, NeutralPose
from proctor.analyzers.identity import FaceEmbedding, FaceEncoder, compare
from proctor.analyzers.motion import MotionMeter
from proctor.analyzers.quality import measure_quality
from proctor.frames import Frame
from proctor.observations import BodyMotion, VisualObservation
from proctor.policy import Policy

logger = logging.getLogger(__name__)

FACE_JUMP = 0.5
"""A face whose centre moves by more than this many face widths between analysed frames is re-identified."""

MISMATCH_RECHECK_S = 2.0
"""A mismatch is confirmed by a second check this soon, so one bad frame never makes an event."""


@dataclass
class StageCounts:
    """How often each costly stage ran: the cascade's cost, reported with the analysis."""

    frames: int = 0
    face_detection: int = 0
    head_pose: int = 0
    pose: int = 0
    identity: int = 0


class CandidateAnalyzer:
    """Holds the models and the per-candidate state (neutral pose, schedules) for one exam session."""

    def __init__(
        self,
        policy: Policy,
        reference: FaceEmbedding | None,
        detector: FaceDetector | None = None,
        encoder: FaceEncoder | None = None,
    ) -> None:
        self.policy = policy
        self.reference = reference
        self.counts = StageCounts()
        self._detector = detector or FaceDetector(policy.faces)
        self._encoder = encoder if encoder is not None else (FaceEncoder() if reference is not None else None)
        self._head = HeadPoseEstimator()
        self._pose = PoseEstimator(policy.body)
        self._motion = MotionMeter()
        self._neutral = NeutralPose(policy.head_pose.calibration_s)
        self._last_pose_s = -1e9
        self._last_identity_s = -1e9
        self._next_identity_s = 0.0
        self._previous_face_count = 0
        self._previous_face: FaceBox | None = None
        self._last_body: BodyObservation | None = None
        self._calibrated_shoulders: list[float] = []

    def analyze(self, frame: Frame) -> VisualObservation:
        """Run the cascade on one frame at the analysis rate."""
        t = frame.timestamp_s
        self.counts.frames += 1
        quality = measure_quality(frame.image, self.policy.quality)
        motion = self._motion.measure(frame.image)
        faces = self._detector.detect(frame.image)
        self.counts.face_detection += 1

        head = None
        if faces.count >= 1:
            raw = self._head.estimate(frame.image)
            self.counts.head_pose += 1
            if raw is not None:
                self._neutral.update(t, raw)
                if t > self.policy.head_pose.calibration_s:
                    self._neutral.freeze()
                head = raw.minus(self._neutral.neutral)

        body = None
        body_motion = None
        face_lost = faces.count == 0
        pose_due = t - self._last_pose_s >= 1.0 / self.policy.body.rate_hz
        if pose_due or (face_lost and t - self._last_pose_s >= 0.5):
            body = self._pose.observe(frame.image)
            self.counts.pose += 1
            self._last_pose_s = t
            body_motion = self._body_motion(t, body)
            self._last_body = body

        identity = None
        face = faces.largest if faces.count == 1 else None
        reacquired = face is not None and (self._previous_face_count != 1 or self._face_jumped(face))
        if self.reference is not None and self._encoder is not None and face is not None:
            if reacquired or t >= self._next_identity_s:
                identity = compare(self.reference, self._encoder.encode(frame.image, face), self.policy.identity)
                self.counts.identity += 1
                self._last_identity_s = t
                self._next_identity_s = t + (self.policy.identity.interval_s if identity.match else MISMATCH_RECHECK_S)
        self._previous_face_count = faces.count
        self._previous_face = face

        return VisualObservation(
            timestamp_s=t,
            quality=quality,
            motion_energy=motion,
            faces=faces,
            head=head,
            body=body,
            body_motion=body_motion,
            identity=identity,
            body_present=self._last_body.present if self._last_body is not None else None,
        )

    def note_gap(self) -> None:
        """The stream was interrupted: forget frame-to-frame state and re-check identity at once."""
        self._motion.reset()
        self._previous_face_count = 0
        self._next_identity_s = 0.0

    def _face_jumped(self, face: FaceBox) -> bool:
        """The one visible face moved by more than its own width since the last frame: maybe a new person."""
        previous = self._previous_face
        if previous is None:
            return False
        shift = ((face.center_x - previous.center_x) ** 2 + (face.center_y - previous.center_y) ** 2) ** 0.5
        return bool(shift > FACE_JUMP * max(previous.width, 1.0))

    def _body_motion(self, t: float, body: BodyObservation) -> BodyMotion | None:
        previous = self._last_body
        if not body.present or body.shoulder_center is None:
            return None
        if t <= self.policy.head_pose.calibration_s:
            self._calibrated_shoulders.append(body.shoulder_width)
        reference_width = (
            sorted(self._calibrated_shoulders)[len(self._calibrated_shoulders) // 2]
            if self._calibrated_shoulders
            else body.shoulder_width
        )
        if previous is None or previous.shoulder_center is None or reference_width <= 0:
            return BodyMotion(shift=0.0, width_ratio=body.shoulder_width / max(reference_width, 1e-6))
        dx = body.shoulder_center.x - previous.shoulder_center.x
        dy = body.shoulder_center.y - previous.shoulder_center.y
        return BodyMotion(
            shift=float((dx * dx + dy * dy) ** 0.5) / reference_width,
            width_ratio=body.shoulder_width / reference_width,
        )

    def close(self) -> None:
        self._detector.close()
        self._head.close()
        self._pose.close()
