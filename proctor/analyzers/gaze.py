"""Gaze from the iris landmarks FaceMesh already gives (no model of its own): where each iris sits between the
eye's corners, relative to the candidate's calibrated neutral, plus the head's yaw.

Corroborating, never alone: a sideways look of the eyes while the head stays within its limits is a
`gaze_away` sample (proctor/events/detector.py); looking down, closed or too small eyes make no claim.
What gaze cannot tell is in docs/analysis.md ("Gaze").
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from proctor.frames import Image

# FaceMesh (refine_landmarks=True) indices of each eye: corners (image-left, image-right), lids (upper,
# lower) and the iris centre. "right" is the candidate's right eye, on the image's left.
RIGHT_EYE = (33, 133, 159, 145, 468)
LEFT_EYE = (362, 263, 386, 374, 473)
EYE_LANDMARKS = RIGHT_EYE + LEFT_EYE
"""The landmarks gaze reads, in this order (the head-pose estimator hands them over with its own)."""

RATIO_PER_SIN_YAW = 0.3
"""Iris ratio shift equal to a head yaw: an eyeball's radius over an eye's width (12 mm / 30 mm = 0.4) times the
share of a known iris shift FaceMesh reports (0.55–0.8 in tests/proctor/test_gaze.py): eyes that turn back
against a turned head (still on the screen) cancel it."""

MIN_EYE_WIDTH_PX = 8.0
"""Eyes narrower than this (corner to corner) are too few pixels to place an iris: no gaze claim."""

CLOSED_OPENNESS = 0.5
"""Lids opened less than this share of the calibrated opening: eyes closed or lowered, no gaze claim."""

MIN_OPENNESS = 0.12
"""Lids opened less than this many eye widths are closed whatever the calibration (open eyes measure 0.2–0.4 on
the test faces, a blink 0.03–0.06)."""

EYES_CROP_SHARE = 0.45
"""The eyes' crop in an evidence picture is this share of the frame's width (top left corner)."""


class GazeConfig(BaseModel):
    """When the eyes' sideways turn counts as gaze_away (a corroborating, low-weight event)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        False,
        title="Gaze events",
        description="Report gaze_away when the eyes turn sideways while the head stays within its limits. Turns on "
        "FaceMesh's iris refinement, which also moves the head pose a little (docs/analysis.md, Gaze).",
    )
    threshold: float = Field(
        0.12,
        ge=0.03,
        le=0.5,
        title="Gaze offset",
        description="Sideways shift of the iris from the calibrated neutral, in eye widths (with the head's yaw "
        "added), beyond which the eyes look away: 0.12 is about 25° of gaze.",
    )
    min_duration_s: float = Field(
        2.5,
        ge=0.5,
        le=60.0,
        title="Gaze persistence",
        description="The eyes must stay turned this long before a gaze_away event opens.",
    )


@dataclass(frozen=True)
class EyeRatios:
    """Where the irises sit in the eyes (both eyes averaged), in eye widths: `horizontal` from the corners'
    midpoint along the corner line (+ toward the image's right), `vertical` across it (+ up), `openness` the
    lids' distance; `width_px` the eyes' mean corner-to-corner width."""

    horizontal: float
    vertical: float
    openness: float
    width_px: float


@dataclass(frozen=True)
class EyesBox:
    """The pixel box around both eyes (for the evidence crop)."""

    x0: int
    y0: int
    x1: int
    y1: int


@dataclass(frozen=True)
class Gaze:
    """One FaceMesh measurement of the eyes: `eye_offset` is the irises' sideways shift from the calibrated neutral
    in eye widths (+ toward the image's right), `offset` the same plus the head's yaw (where the gaze points);
    `readable` is False when the eyes are closed, lowered or too small to place an iris (nothing is claimed)."""

    offset: float
    eye_offset: float
    vertical_offset: float
    readable: bool
    eyes: EyeRatios
    box: EyesBox

    def turned(self, threshold: float) -> bool:
        """The eyes themselves turned sideways beyond `threshold` and the head did not turn them back (the head
        alone, however turned, never makes a gaze claim: that is the head pose's to judge)."""
        same_way = self.eye_offset * self.offset > 0
        return self.readable and same_way and abs(self.eye_offset) > threshold and abs(self.offset) > threshold


def eye_ratios(points: npt.NDArray[np.float64]) -> tuple[EyeRatios, EyesBox]:
    """Iris ratios of the `EYE_LANDMARKS` points (pixels, in that order), and the box around the eyes."""
    horizontal, vertical, openness, widths = [], [], [], []
    for offset in (0, len(RIGHT_EYE)):
        left, right, upper, lower, iris = points[offset : offset + 5]
        axis = right - left
        width = float(np.hypot(axis[0], axis[1]))
        if width <= 1e-6:
            width = 1e-6
        along = float(np.dot(iris - left, axis)) / (width * width) - 0.5
        normal = np.array([axis[1], -axis[0]]) / width  # image up for a level eye
        horizontal.append(along)
        vertical.append(float(np.dot(iris - (left + right) / 2, normal)) / width)
        openness.append(float(np.hypot(*(lower - upper))) / width)
        widths.append(width)
    corners = points[[0, 1, 5, 6]]
    mean_width = sum(widths) / 2
    margin = 0.6 * mean_width
    x0, y0 = corners.min(axis=0) - margin
    x1, y1 = corners.max(axis=0) + margin
    box = EyesBox(int(x0), int(y0), int(math.ceil(x1)), int(math.ceil(y1)))
    ratios = EyeRatios(sum(horizontal) / 2, sum(vertical) / 2, sum(openness) / 2, mean_width)
    return ratios, box


class NeutralGaze:
    """The candidate's neutral iris position and lid opening: medians over the head pose's calibration window
    (the same window: `recalibrate` and `freeze` follow the neutral head pose's)."""

    def __init__(self, calibration_s: float) -> None:
        self.calibration_s = calibration_s
        self.start_s = 0.0
        self._samples: list[EyeRatios] = []
        self._neutral: EyeRatios | None = None

    @property
    def samples(self) -> int:
        return len(self._samples)

    def recalibrate(self, start_s: float) -> None:
        self.start_s = start_s
        self._samples = []
        self._neutral = None

    def update(self, timestamp_s: float, eyes: EyeRatios) -> None:
        if self._neutral is None and self.start_s <= timestamp_s <= self.start_s + self.calibration_s:
            self._samples.append(eyes)

    def freeze(self) -> None:
        if self._neutral is None and self._samples:
            self._neutral = self.neutral

    @property
    def neutral(self) -> EyeRatios | None:
        """The neutral so far (None until a sample exists: then no gaze is claimed)."""
        if self._neutral is not None or not self._samples:
            return self._neutral
        samples = self._samples
        return EyeRatios(
            statistics.median(s.horizontal for s in samples),
            statistics.median(s.vertical for s in samples),
            statistics.median(s.openness for s in samples),
            statistics.median(s.width_px for s in samples),
        )


def gaze_from(eyes: EyeRatios, box: EyesBox, neutral: EyeRatios | None, yaw_deg: float, pitch_deg: float) -> Gaze:
    """The gaze offset of one measurement, from the neutral eyes and the head's pose relative to its neutral."""
    if neutral is None:
        return Gaze(0.0, 0.0, 0.0, False, eyes, box)
    eye_offset = eyes.horizontal - neutral.horizontal
    offset = eye_offset + RATIO_PER_SIN_YAW * math.sin(math.radians(yaw_deg))
    vertical = eyes.vertical - neutral.vertical + RATIO_PER_SIN_YAW * math.sin(math.radians(pitch_deg))
    opened = eyes.openness >= max(MIN_OPENNESS, CLOSED_OPENNESS * neutral.openness)
    readable = eyes.width_px >= MIN_EYE_WIDTH_PX and opened
    return Gaze(offset, eye_offset, vertical, readable, eyes, box)


def eyes_evidence(image: Image, box: EyesBox) -> Image:
    """The frame with an enlarged crop of the eyes in its top left corner (outlined), for the reviewer."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = max(box.x0, 0), max(box.y0, 0), min(box.x1, width), min(box.y1, height)
    picture = image.copy()
    if x1 - x0 < 2 or y1 - y0 < 2:
        return picture
    crop_w = max(int(width * EYES_CROP_SHARE), 2)
    crop_h = min(max(int(round(crop_w * (y1 - y0) / (x1 - x0))), 2), height // 2)
    crop = cv2.resize(image[y0:y1, x0:x1], (crop_w, crop_h), interpolation=cv2.INTER_LINEAR)
    picture[:crop_h, :crop_w] = crop
    cv2.rectangle(picture, (0, 0), (crop_w - 1, crop_h - 1), (255, 255, 255), 1)
    cv2.rectangle(picture, (x0, y0), (x1 - 1, y1 - 1), (255, 255, 255), 1)
    return np.asarray(picture, dtype=np.uint8)
