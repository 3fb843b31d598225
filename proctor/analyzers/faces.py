"""Faces analyzer: BlazeFace (full range) → face count, boxes and scores."""

from __future__ import annotations

from dataclasses import dataclass

import mediapipe as mp
from pydantic import BaseModel, ConfigDict, Field

from proctor.frames import Image, bgr_to_rgb


class FacesConfig(BaseModel):
    """Thresholds of the face detector."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_confidence: float = Field(
        0.5,
        ge=0.05,
        le=0.99,
        title="Minimum detection score",
        description="BlazeFace score below which a detection is ignored.",
    )
    min_face_fraction: float = Field(
        0.03,
        ge=0.0,
        le=0.5,
        title="Minimum face size",
        description="Faces narrower than this fraction of the frame width are ignored (posters far away).",
    )


@dataclass(frozen=True)
class FaceBox:
    """A detected face in pixel coordinates, with its detector score."""

    x: float
    y: float
    width: float
    height: float
    score: float

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center_x(self) -> float:
        return self.x + self.width / 2

    @property
    def center_y(self) -> float:
        return self.y + self.height / 2

    def distance_to(self, other: FaceBox) -> float:
        """Distance between the two boxes' centres, in pixels."""
        return float(((self.center_x - other.center_x) ** 2 + (self.center_y - other.center_y) ** 2) ** 0.5)


@dataclass(frozen=True)
class FaceDetections:
    """All faces found in one frame, largest first."""

    faces: tuple[FaceBox, ...]

    @property
    def count(self) -> int:
        return len(self.faces)

    @property
    def largest(self) -> FaceBox | None:
        return self.faces[0] if self.faces else None


class FaceDetector:
    """BlazeFace full-range detector (bundled with mediapipe; about 4 ms on a 640×360 frame)."""

    def __init__(self, config: FacesConfig | None = None, *, short_range: bool = False) -> None:
        """The full-range model (faces up to about 5 m), or with `short_range` the short-range one (within about
        2 m: a third of the cost, for a face near the camera; see proctor/gates.py)."""
        self.config = config or FacesConfig()
        self.short_range = short_range
        self._detector = mp.solutions.face_detection.FaceDetection(
            model_selection=0 if short_range else 1, min_detection_confidence=self.config.min_confidence
        )

    def detect(self, image: Image) -> FaceDetections:
        """Detect the faces of a BGR image."""
        return self.detect_rgb(bgr_to_rgb(image))

    def detect_rgb(self, rgb: Image) -> FaceDetections:
        """Detect the faces of an RGB image (a frame's `rgb`: no conversion)."""
        height, width = rgb.shape[:2]
        result = self._detector.process(rgb)
        boxes: list[FaceBox] = []
        for detection in result.detections or ():
            rel = detection.location_data.relative_bounding_box
            x0, y0 = max(0.0, rel.xmin * width), max(0.0, rel.ymin * height)
            x1, y1 = (
                min(float(width), (rel.xmin + rel.width) * width),
                min(float(height), (rel.ymin + rel.height) * height),
            )
            if x1 <= x0 or y1 <= y0 or (x1 - x0) < self.config.min_face_fraction * width:
                continue
            boxes.append(FaceBox(x0, y0, x1 - x0, y1 - y0, float(detection.score[0])))
        boxes.sort(key=lambda box: box.area, reverse=True)
        return FaceDetections(tuple(boxes))

    def close(self) -> None:
        self._detector.close()

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
