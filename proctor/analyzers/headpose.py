"""Head pose analyzer: FaceMesh landmarks → yaw / pitch / roll, relative to a calibrated neutral pose; the same
FaceMesh call places the irises for gaze (proctor/analyzers/gaze.py)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import cv2
import mediapipe as mp
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from proctor.analyzers.gaze import EYE_LANDMARKS, EyeRatios, EyesBox, eye_ratios
from proctor.frames import Image, bgr_to_rgb

# FaceMesh indices and a generic 3-D face model (millimetres, y up, z toward the camera).
_LANDMARKS = (1, 152, 33, 263, 61, 291)  # nose tip, chin, eye outer corners, mouth corners
_READ = _LANDMARKS + EYE_LANDMARKS
_MODEL_POINTS = np.array(
    [
        (0.0, 0.0, 0.0),
        (0.0, -63.6, -12.5),
        (-43.3, 32.7, -26.0),
        (43.3, 32.7, -26.0),
        (-28.9, -28.9, -24.1),
        (28.9, -28.9, -24.1),
    ],
    dtype=np.float64,
)


class HeadPoseConfig(BaseModel):
    """How far from the neutral pose the head may turn before it counts as looking away."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    yaw_limit_deg: float = Field(
        30.0,
        ge=5.0,
        le=90.0,
        title="Yaw limit",
        description="Left/right head turn from neutral, in degrees, beyond which the candidate looks away.",
    )
    pitch_down_limit_deg: float = Field(
        25.0,
        ge=5.0,
        le=90.0,
        title="Looking down limit",
        description="Downward tilt from neutral, in degrees, beyond which the candidate looks away.",
    )
    pitch_up_limit_deg: float = Field(
        25.0,
        ge=5.0,
        le=90.0,
        title="Looking up limit",
        description="Upward tilt from neutral, in degrees, beyond which the candidate looks away.",
    )
    allow_looking_down: bool = Field(
        False,
        title="Looking down allowed",
        description="For paper-based tasks: a downward tilt is never looking away.",
    )
    calibration_s: float = Field(
        5.0,
        ge=0.0,
        le=120.0,
        title="Calibration window",
        description="Seconds at the start used to learn the candidate's neutral pose (median).",
    )


@dataclass(frozen=True)
class HeadPose:
    """Head orientation in degrees: yaw (+ right), pitch (+ up), roll (+ clockwise)."""

    yaw: float
    pitch: float
    roll: float

    def minus(self, neutral: HeadPose) -> HeadPose:
        return HeadPose(self.yaw - neutral.yaw, self.pitch - neutral.pitch, self.roll - neutral.roll)


@dataclass(frozen=True)
class FaceMeasure:
    """What one FaceMesh call measured: the head pose (camera frame, not yet relative to neutral) and the eyes."""

    pose: HeadPose
    eyes: EyeRatios | None = None
    """The irises (None without the iris refinement)."""
    eyes_box: EyesBox | None = None


class HeadPoseEstimator:
    """FaceMesh (tracking mode) and a PnP fit of six landmarks; with `iris`, FaceMesh's iris refinement too (for
    gaze: 0.5–0.8 ms more a call, and its landmarks move the head pose a little: docs/analysis.md, "Gaze")."""

    def __init__(self, iris: bool = False) -> None:
        self.iris = iris
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False,
            max_num_faces=1,
            refine_landmarks=iris,
            min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        )

    def estimate(self, image: Image) -> HeadPose | None:
        """Head pose of the most prominent face of a BGR image, or None when FaceMesh finds no face."""
        return self.estimate_rgb(bgr_to_rgb(image))

    def estimate_rgb(self, rgb: Image) -> HeadPose | None:
        """Head pose of the most prominent face of an RGB image, or None when FaceMesh finds no face."""
        measure = self.measure_rgb(rgb)
        return measure.pose if measure is not None else None

    def measure_rgb(self, rgb: Image) -> FaceMeasure | None:
        """Head pose and iris ratios of the most prominent face of an RGB image (one FaceMesh call), or None."""
        height, width = rgb.shape[:2]
        result = self._mesh.process(rgb)
        if not result.multi_face_landmarks:
            return None
        marks = result.multi_face_landmarks[0].landmark
        indices = _READ if self.iris else _LANDMARKS
        read = np.array([(marks[i].x * width, marks[i].y * height) for i in indices], dtype=np.float64)
        points = read[: len(_LANDMARKS)]
        focal = float(width)
        camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], dtype=np.float64)
        ok, rvec, _ = cv2.solvePnP(_MODEL_POINTS, points, camera, None, flags=cv2.SOLVEPNP_ITERATIVE)
        if not ok:
            return None
        rotation, _ = cv2.Rodrigues(rvec)
        if not self.iris:
            return FaceMeasure(_euler(rotation))
        eyes, box = eye_ratios(read[len(_LANDMARKS) :])
        return FaceMeasure(_euler(rotation), eyes, box)

    def close(self) -> None:
        self._mesh.close()


def _euler(rotation: np.ndarray) -> HeadPose:
    """Yaw/pitch/roll of a camera-frame rotation matrix (image y points down)."""
    # Convert to a frame with y up so that positive pitch is looking up.
    flip = np.diag([1.0, -1.0, -1.0])
    r = flip @ rotation
    sy = float(np.hypot(r[0, 0], r[1, 0]))
    pitch = float(np.degrees(np.arctan2(r[2, 1], r[2, 2])))
    yaw = float(np.degrees(np.arctan2(-r[2, 0], sy)))
    roll = float(np.degrees(np.arctan2(r[1, 0], r[0, 0])))
    return HeadPose(yaw=yaw, pitch=_wrap(pitch), roll=roll)


def _wrap(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


class NeutralPose:
    """Learns the candidate's neutral head pose as the median over the calibration window (the first
    `calibration_s` of the session, or of a calibration the candidate was asked for: `recalibrate`)."""

    def __init__(self, calibration_s: float) -> None:
        self.calibration_s = calibration_s
        self.start_s = 0.0
        self._samples: list[HeadPose] = []
        self._neutral: HeadPose | None = None

    @property
    def end_s(self) -> float:
        """Where the calibration window ends."""
        return self.start_s + self.calibration_s

    @property
    def samples(self) -> int:
        return len(self._samples)

    @property
    def frozen(self) -> bool:
        return self._neutral is not None

    def recalibrate(self, start_s: float) -> None:
        """Learn the neutral pose afresh over `calibration_s` from `start_s` (the candidate looks at the screen)."""
        self.start_s = start_s
        self._samples = []
        self._neutral = None

    def update(self, timestamp_s: float, pose: HeadPose) -> None:
        if self._neutral is None and self.start_s <= timestamp_s <= self.end_s:
            self._samples.append(pose)

    @property
    def neutral(self) -> HeadPose:
        """The neutral pose so far (the camera axis until samples exist)."""
        if self._neutral is not None:
            return self._neutral
        if not self._samples:
            return HeadPose(0.0, 0.0, 0.0)
        return HeadPose(
            statistics.median(p.yaw for p in self._samples),
            statistics.median(p.pitch for p in self._samples),
            statistics.median(p.roll for p in self._samples),
        )

    def freeze(self) -> None:
        """Fix the neutral pose once the calibration window is over."""
        if self._neutral is None and self._samples:
            self._neutral = self.neutral
