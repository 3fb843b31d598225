"""Identity analyzer: a 128-D dlib ResNet embedding of the live face against the enrolled reference.

The threshold comes from our own measurement on the face_recognition test photos: the same person
gives distances 0.33–0.43 (obama, obama2, obama3), another person 0.84 (biden); 0.6 lies between and
is also dlib's documented operating point (99.38 % on LFW).

The same face in another candidate's session is a serious allegation, so it takes a stricter distance
(`duplicate_face_distance`, 0.4): the faces seen in two recordings of one person, and their enrolled photos,
lie 0.03–0.33 apart (means of a session's checks); different people 0.76–0.84, the closest pair measured 0.50.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import dlib
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from models import model_path
from proctor.analyzers.face_resnet import CHIP_SIZE, FaceResNet
from proctor.analyzers.faces import FaceBox, FaceDetector
from proctor.errors import ReferencePhotoError
from proctor.frames import Image, bgr_to_rgb

Embedding = npt.NDArray[np.float64]

CHIP_PADDING = 0.25
"""dlib's face chip: the aligned face with a quarter of its size around it (`compute_face_descriptor`'s default)."""


class IdentityConfig(BaseModel):
    """When a live face is the enrolled candidate, and when identity is checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match_distance: float = Field(
        0.6,
        ge=0.2,
        le=1.2,
        title="Match distance",
        description="Euclidean distance between embeddings at or below which the faces match.",
    )
    interval_s: float = Field(
        10.0,
        ge=1.0,
        le=10.0,
        title="Check interval",
        description="Identity is checked at least this often while one face is visible, and on re-acquisition.",
    )
    live_attempts: int = Field(
        3,
        ge=1,
        le=10,
        title="Live identity attempts",
        description="Failed identity checks at the start of a live exam before it goes on, marked for the examiner.",
    )
    duplicate_face_distance: float = Field(
        0.4,
        ge=0.2,
        le=0.6,
        title="Same face in another session",
        description=(
            "Distance at or below which a face seen in one session of an exam is taken to be a face seen in "
            "another candidate's session, or another candidate's enrolled photo (one person sitting the exam "
            "for several candidates). Stricter than the match distance: it accuses two candidates."
        ),
    )
    min_reference_face_px: int = Field(
        80,
        ge=40,
        le=1000,
        title="Reference face size",
        description="Smallest face width in pixels accepted on the reference photo.",
    )
    id_document: Literal["off", "on"] = Field(
        "off",
        title="ID card at the door",
        description=(
            "on: before the identity check the candidate shows the front of their ID card; its IIN, name and photo "
            "are checked (proctor/identity_document) and the outcome goes to the examiner."
        ),
    )
    card_match_distance: float = Field(
        0.55,
        ge=0.2,
        le=1.2,
        title="Card face match distance",
        description=(
            "Distance at or below which the card's photo matches the live face or the enrolled photo (card faces of "
            "80 px and more: the same person measured 0.32-0.48, others 0.80-0.88; docs/identity-document.md)."
        ),
    )
    card_small_match_distance: float = Field(
        0.5,
        ge=0.2,
        le=1.2,
        title="Small card face match distance",
        description=(
            "Stricter distance for a card face narrower than card_min_face_px: small printed faces bring other "
            "people closer (measured down to 0.71 at 65 px, blurred)."
        ),
    )
    card_min_face_px: int = Field(
        80,
        ge=20,
        le=1000,
        title="Card face size",
        description="Card faces narrower than this in the still are judged with the stricter distance.",
    )
    min_reference_sharpness: float = Field(
        20.0,
        ge=0.0,
        le=10_000.0,
        title="Reference sharpness",
        description="Variance of the Laplacian of the reference face below which the photo is too blurred.",
    )


@dataclass(frozen=True, eq=False)
class FaceEmbedding:
    """A 128-D embedding and the face box it was computed from."""

    vector: Embedding
    box: FaceBox

    def distance(self, other: FaceEmbedding) -> float:
        return float(np.linalg.norm(self.vector - other.vector))


@dataclass(frozen=True)
class IdentityCheck:
    """One comparison of a live face with the reference."""

    distance: float
    match: bool


@dataclass(frozen=True)
class TimedIdentityCheck:
    """An identity check as the session keeps it: when (session time), the distance, and whether it matched."""

    at_s: float
    distance: float
    match: bool

    def to_json(self) -> dict[str, float | bool]:
        """As in the analysis report: time to 10 ms, distance to 3 decimals (the threshold's precision and more)."""
        return {"at_s": round(self.at_s, 2), "distance": round(self.distance, 3), "match": self.match}


class FaceEncoder:
    """dlib 5-point alignment and face chip, then dlib's ResNet embedding computed by proctor/analyzers/face_resnet.py
    (the same vector as dlib's `compute_face_descriptor` without jitter, 13–18 ms against 80–97 here)."""

    def __init__(self) -> None:
        self._shape = dlib.shape_predictor(str(model_path("dlib_shape_predictor_5")))
        self._resnet = FaceResNet(model_path("dlib_face_recognition_resnet"))

    def encode(self, image: Image, box: FaceBox) -> FaceEmbedding:
        """Embedding of the face inside `box` (BGR image; the box may come from BlazeFace)."""
        return self.encode_rgb(bgr_to_rgb(image), box)

    def encode_rgb(self, rgb: Image, box: FaceBox) -> FaceEmbedding:
        """Embedding of the face inside `box` of an RGB image."""
        rect = dlib.rectangle(int(box.x), int(box.y), int(box.x + box.width), int(box.y + box.height))
        shape = self._shape(rgb, rect)
        chip = np.asarray(dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING), dtype=np.uint8)
        vector = self._resnet.embed(chip)
        return FaceEmbedding(vector=vector, box=box)


def enroll_reference(
    image: Image, detector: FaceDetector, encoder: FaceEncoder, config: IdentityConfig
) -> FaceEmbedding:
    """Quality-check a reference photo and return its embedding.

    Raises ReferencePhotoError when the photo has no face, several faces, a face that is too small
    or too blurred to identify anyone reliably.
    """
    faces = detector.detect(image)
    if faces.count == 0:
        raise ReferencePhotoError("the reference photo shows no face")
    if faces.count > 1:
        raise ReferencePhotoError(f"the reference photo shows {faces.count} faces; it must show exactly one")
    box = faces.faces[0]
    if box.width < config.min_reference_face_px:
        raise ReferencePhotoError(
            f"the face on the reference photo is {box.width:.0f} px wide; at least "
            f"{config.min_reference_face_px} px is needed"
        )
    sharpness = face_sharpness(image, box)
    if sharpness < config.min_reference_sharpness:
        raise ReferencePhotoError(
            f"the reference photo is too blurred (sharpness {sharpness:.1f} < {config.min_reference_sharpness})"
        )
    return encoder.encode(image, box)


def face_sharpness(image: Image, box: FaceBox) -> float:
    """Variance of the Laplacian of the face, resized to 128 px wide so that size does not matter."""
    x0, y0 = int(box.x), int(box.y)
    crop = image[y0 : y0 + int(box.height), x0 : x0 + int(box.width)]
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    scale = 128.0 / max(1, grey.shape[1])
    grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def compare(reference: FaceEmbedding, live: FaceEmbedding, config: IdentityConfig) -> IdentityCheck:
    """Distance between the reference and a live face, and whether it is a match."""
    distance = reference.distance(live)
    return IdentityCheck(distance=distance, match=distance <= config.match_distance)
