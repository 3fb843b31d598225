"""The analysis cascade for one candidate: cheap stages gate costly ones.

quality + motion (< 1 ms) → BlazeFace (≈ 4 ms; the short-range model, ≈ 1.5 ms, for one near face)
→ FaceMesh head pose only with a face (≈ 3–8 ms; every other frame while the head is calm; the same call
places the irises for gaze when the policy asks, measured only on the frames it runs, with one face) → Pose at a
low rate, or at once when the face is lost (≈ 17–48 ms) → dlib identity on a schedule (≥ every
`interval_s` and on every face re-acquisition, never every frame; ≈ 15 ms: proctor/analyzers/face_resnet.py).
The gates that let a model rest are proctor/gates.py.

Pose follows one person. With someone else in view it may follow them, so body motion is measured
only between poses whose nose lies on the candidate's face (the face tracked from frame to frame
since the candidate was last seen alone); a pose that belongs to someone else, or that no face
vouches for, moves nothing. Any pose still tells whether someone sits in the seat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from proctor.analyzers.body import BodyObservation, PoseEstimator
from proctor.analyzers.faces import FaceBox, FaceDetections, FaceDetector
from proctor.analyzers.gaze import Gaze, NeutralGaze, gaze_from
from proctor.analyzers.headpose import HeadPose, HeadPoseEstimator, NeutralPose
from proctor.analyzers.identity import FaceEmbedding, FaceEncoder, IdentityCheck, TimedIdentityCheck, compare
from proctor.analyzers.motion import MotionMeter
from proctor.analyzers.quality import measure_gray_quality
from proctor.analyzers.sessionfaces import SessionFaces
from proctor.frames import Frame, Image, bgr_to_rgb
from proctor.gates import FaceGate, HeadGate, PoseGate
from proctor.observations import BodyMotion, VisualObservation
from proctor.policy import Policy

logger = logging.getLogger(__name__)

FACE_JUMP = 0.5
"""A face whose centre moves by more than this many face widths between analysed frames is re-identified."""

SAME_FACE = 1.0
"""A face within this many face widths of the candidate's last position is taken to be the candidate's."""

BODY_SAMPLE_SLACK = 2.5
"""Two of the candidate's pose samples further apart than this many pose periods are not compared (one
skipped sample, a pose still lagging behind a move, is bridged; a longer stretch is not)."""

REANCHOR_S = 2.0
"""Without a reference photo, a face elsewhere becomes the candidate's after this long with no face at the old place."""

POSE_ON_FACE_MARGIN = 0.5
"""A pose belongs to the candidate when its nose lies within the candidate's face box grown by this share."""

MISMATCH_RECHECK_S = 2.0
"""A mismatch is confirmed by a second check this soon, so one bad frame never makes an event."""


@dataclass
class StageCounts:
    """How often each costly stage ran: the cascade's cost, reported with the analysis."""

    frames: int = 0
    face_detection: int = 0
    """Frames counted by the full-range BlazeFace model."""
    near_face_detection: int = 0
    """Frames counted by the short-range model (a near face: `proctor/gates.py`)."""
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
        near_detector: FaceDetector | None = None,
    ) -> None:
        self.policy = policy
        self.reference = reference
        self.counts = StageCounts()
        self._owns_detector = detector is None  # a detector passed in is shared: its owner closes it
        self._detector = detector or FaceDetector(policy.faces)
        self._owns_near_detector = near_detector is None
        self._near_detector = near_detector or FaceDetector(policy.faces, short_range=True)
        self._face_gate = FaceGate(policy.gates.near_faces)
        self._head_gate = HeadGate(policy.gates.calm_head, policy.head_pose)
        self._pose_gate = PoseGate(policy.gates.still_body, after_s=policy.head_pose.calibration_s)
        self._last_moving = False
        """Whether the last pose sample measured the candidate moving (a moving body is never left unsampled)."""
        self._encoder = encoder if encoder is not None else (FaceEncoder() if reference is not None else None)
        self._head = HeadPoseEstimator(iris=policy.gaze.enabled)
        self._pose = PoseEstimator(policy.body)
        self._motion = MotionMeter()
        self._neutral = NeutralPose(policy.head_pose.calibration_s)
        self._neutral_gaze = NeutralGaze(policy.head_pose.calibration_s)
        self._last_pose_s = -1e9
        self._last_identity_s = -1e9
        self._next_identity_s = 0.0
        self._previous_face_count = 0
        self._previous_face: FaceBox | None = None
        self._last_body: BodyObservation | None = None
        """The candidate's last pose: the reference of body motion."""
        self._last_body_s = -1e9
        self._seat_present: bool | None = None
        """Whether the last pose sample, whoever's, saw someone in the seat (tells a missed face from an empty seat)."""
        self._candidate_face: FaceBox | None = None
        self._someone_else = False
        self._candidate_seen_s = -1e9
        self._calibrated_shoulders: list[float] = []
        self.identity_checks: list[TimedIdentityCheck] = []
        """Every identity check of the session, in time order (a few bytes each: ≈ 1000 in 90 minutes)."""
        self.faces = SessionFaces(policy.identity.match_distance, reference)
        """The faces of those checks, summarised with bounded memory."""

    def analyze(self, frame: Frame) -> VisualObservation:
        """Run the cascade on one frame at the analysis rate."""
        t = frame.timestamp_s
        self.counts.frames += 1
        quality = measure_gray_quality(frame.gray, self.policy.quality)
        motion = self._motion.measure_gray(frame.gray)
        faces = self._count_faces(frame, motion)
        face = faces.largest if faces.count == 1 else None
        reacquired = face is not None and (self._previous_face_count != 1 or self._face_jumped(face))

        head = None
        gaze = None
        if faces.count >= 1 and not self._head_gate.due(t, faces.count, reacquired, self._neutral):
            head = self._head_gate.last  # a calm head, measured on the frame before (its gaze is not carried)
        elif faces.count >= 1:
            head, gaze = self._measure_head(frame, one_face=faces.count == 1)

        identity = None
        if self.reference is not None and self._encoder is not None and face is not None:
            if reacquired or t >= self._next_identity_s:
                seen = self._encoder.encode_rgb(frame.rgb, face)
                identity = compare(self.reference, seen, self.policy.identity)
                self.counts.identity += 1
                self.identity_checks.append(TimedIdentityCheck(t, identity.distance, identity.match))
                self.faces.add(t, seen, frame.image)
                self._last_identity_s = t
                self._next_identity_s = t + (self.policy.identity.interval_s if identity.match else MISMATCH_RECHECK_S)
        self._previous_face_count = faces.count
        self._previous_face = face
        candidate_face = self._track_candidate(t, faces.faces, identity)

        body = None
        body_motion = None
        face_lost = faces.count == 0
        pose_due = t - self._last_pose_s >= 1.0 / self.policy.body.rate_hz
        self._pose_gate.frame(motion)
        if pose_due and not face_lost and self._pose_gate.may_skip(t, candidate_face, self._last_moving):
            self._pose_gate.skipped()
            self._last_pose_s = t  # the sample rests; the next is due a period on, as without the gate
        elif pose_due or (face_lost and t - self._last_pose_s >= 0.5):
            body = self._pose.observe_rgb(frame.rgb)
            self.counts.pose += 1
            self._last_pose_s = t
            self._seat_present = body.present
            if self._pose_on_face(body, candidate_face, frame.width, frame.height):
                body_motion = self._body_motion(t, body)
                self._last_body, self._last_body_s = body, t
            self._pose_gate.sampled(candidate_face)
            self._last_moving = body_motion is not None and body_motion.moving(self.policy.body)

        return VisualObservation(
            timestamp_s=t,
            quality=quality,
            motion_energy=motion,
            faces=faces,
            head=head,
            body=body,
            body_motion=body_motion,
            identity=identity,
            body_present=self._seat_present,
            identity_of_new_face=identity is not None and reacquired,
            gaze=gaze,
        )

    def _measure_head(self, frame: Frame, one_face: bool) -> tuple[HeadPose | None, Gaze | None]:
        """One FaceMesh call: the head pose from neutral and, with one face in view, the gaze from the same
        landmarks (no landmarks, no gaze: what the camera could not see is never a claim)."""
        t = frame.timestamp_s
        measure = self._head.measure_rgb(frame.rgb)
        self.counts.head_pose += 1
        head = gaze = None
        if measure is not None:
            self._neutral.update(t, measure.pose)
            eyes, box = measure.eyes, measure.eyes_box
            if one_face and eyes is not None:
                self._neutral_gaze.update(t, eyes)
            if t > self._neutral.end_s:
                self._neutral.freeze()
                self._neutral_gaze.freeze()
            head = measure.pose.minus(self._neutral.neutral)
            if one_face and eyes is not None and box is not None:
                gaze = gaze_from(eyes, box, self._neutral_gaze.neutral, head.yaw, head.pitch)
        self._head_gate.measured(t, head)
        return head, gaze

    def _count_faces(self, frame: Frame, motion: float) -> FaceDetections:
        """The frame's faces: by the short-range model while one near face is all there is, else full-range."""
        t, gate = frame.timestamp_s, self._face_gate
        if not gate.full_range_due(t, motion):
            faces = self._near_detector.detect_rgb(frame.rgb)
            self.counts.near_face_detection += 1
            if gate.counted(t, faces, frame.width, full_range=False):
                return faces
        faces = self._detector.detect_rgb(frame.rgb)
        self.counts.face_detection += 1
        gate.counted(t, faces, frame.width, full_range=True)
        return faces

    def _track_candidate(self, t: float, faces: tuple[FaceBox, ...], identity: IdentityCheck | None) -> FaceBox | None:
        """The candidate's face among this frame's faces: the one nearest to where it was (None if not seen).

        A face far from there is the candidate's only when it is alone and its identity check matches (or,
        without a reference photo, when nobody has been seen there for REANCHOR_S); after a failed identity
        check no face is the candidate's until a check matches again.
        """
        if identity is not None:
            self._someone_else = not identity.match
        anchor = self._candidate_face
        if not faces or self._someone_else:
            return None
        chosen: FaceBox | None = None
        if anchor is None:
            chosen = faces[0] if len(faces) == 1 else None
        else:
            nearest = min(faces, key=anchor.distance_to)
            if nearest.distance_to(anchor) <= SAME_FACE * max(anchor.width, 1.0):
                chosen = nearest
            elif len(faces) == 1:
                confirmed = identity.match if identity is not None else t - self._candidate_seen_s >= REANCHOR_S
                chosen = faces[0] if confirmed else None
        if chosen is not None:
            self._candidate_face, self._candidate_seen_s = chosen, t
        return chosen

    @staticmethod
    def _pose_on_face(body: BodyObservation, face: FaceBox | None, width: int, height: int) -> bool:
        """Whether a pose is the candidate's: its nose lies on the candidate's face box (grown by a margin)."""
        if face is None or body.nose is None:
            return False
        margin_x, margin_y = face.width * POSE_ON_FACE_MARGIN, face.height * POSE_ON_FACE_MARGIN
        x, y = body.nose.x * width, body.nose.y * height
        return bool(
            face.x - margin_x <= x <= face.x + face.width + margin_x
            and face.y - margin_y <= y <= face.y + face.height + margin_y
        )

    def warm_up(self, image: Image) -> None:
        """Run the session's own models (head pose, body) once on a face photo, then on a blank frame so
        that nothing is tracked: their first real frame is then as fast as any other (the first inference
        of a graph builds its delegate, hundreds of milliseconds a live source would have to drop frames for)."""
        blank = np.zeros_like(image)
        for picture in (image, blank):
            rgb = bgr_to_rgb(picture)
            self._near_detector.detect_rgb(rgb)
            self._head.estimate_rgb(rgb)
            self._pose.observe_rgb(rgb)

    def calibrate(self, start_s: float) -> None:
        """Learn the neutral head pose from `start_s` on (the candidate was asked to look at the screen)."""
        self._neutral.recalibrate(start_s)
        self._neutral_gaze.recalibrate(start_s)

    @property
    def neutral_pose(self) -> NeutralPose:
        return self._neutral

    def note_gap(self) -> None:
        """The stream was interrupted: forget frame-to-frame state and re-check identity at once."""
        self._motion.reset()
        self._face_gate.forget()
        self._head_gate.forget()
        self._pose_gate.forget()
        self._previous_face_count = 0
        self._next_identity_s = 0.0

    def _face_jumped(self, face: FaceBox) -> bool:
        """The one visible face moved by more than its own width since the last frame: maybe a new person."""
        previous = self._previous_face
        if previous is None:
            return False
        return face.distance_to(previous) > FACE_JUMP * max(previous.width, 1.0)

    def _body_motion(self, t: float, body: BodyObservation) -> BodyMotion | None:
        # Motion is measured between consecutive samples of the candidate's own pose; after a stretch
        # without one (someone else in view, a gap) the next sample starts afresh.
        fresh = t - self._last_body_s <= BODY_SAMPLE_SLACK / self.policy.body.rate_hz
        previous = self._last_body if fresh else None
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
        if self._owns_detector:
            self._detector.close()
        if self._owns_near_detector:
            self._near_detector.close()
        self._head.close()
        self._pose.close()
