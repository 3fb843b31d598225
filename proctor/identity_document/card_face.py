"""The face printed on the card, found in the still and compared (dlib embeddings) with the live face and the
enrolled photo.

In a still of a card held up to the camera, the candidate's own face may show too: the card's face is the one
inside the card's outline (or, without an outline, the smallest face: a printed portrait is small); the largest
face outside the card is the live face when no separate face still was sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from proctor.analyzers.faces import FaceBox, FaceDetector
from proctor.analyzers.identity import FaceEmbedding, FaceEncoder, face_sharpness
from proctor.frames import Image
from proctor.identity_document.ocr import CardOutline


@dataclass(frozen=True)
class CardFaces:
    """The faces of the card still: the card's portrait and, when the candidate shows too, their live face."""

    card: FaceBox | None
    live: FaceBox | None
    sharpness: float | None


def split_faces(image: Image, detector: FaceDetector, outline: CardOutline | None) -> CardFaces:
    """Which face in the still is the card's portrait and which (if any) the candidate's own."""
    faces = detector.detect(image).faces
    if not faces:
        return CardFaces(None, None, None)
    if outline is not None:
        inside = [f for f in faces if outline.contains(f.center_x, f.center_y)]
        outside = [f for f in faces if not outline.contains(f.center_x, f.center_y)]
    else:
        ordered = sorted(faces, key=lambda f: f.area)
        inside, outside = ordered[:1], list(reversed(ordered[1:]))
    card = max(inside, key=lambda f: f.area) if inside else None
    live = max(outside, key=lambda f: f.area) if outside else None
    return CardFaces(card, live, face_sharpness(image, card) if card is not None else None)


@dataclass(frozen=True)
class FaceComparison:
    """A card face against another face: the distance, the threshold applied and the verdict (None: not compared,
    with the reason)."""

    distance: float | None
    threshold: float
    match: bool | None
    reason: str = ""


def compare_to(
    card: FaceEmbedding | None, other: FaceEmbedding | None, threshold: float, missing: str
) -> FaceComparison:
    """The comparison of the card's face with `other`; `missing` says why when either face is absent."""
    if card is None:
        return FaceComparison(None, threshold, None, "no face found on the card")
    if other is None:
        return FaceComparison(None, threshold, None, missing)
    distance = round(card.distance(other), 3)
    return FaceComparison(distance, threshold, distance <= threshold)


def card_threshold(face_px: float, match_distance: float, small_match_distance: float, small_face_px: int) -> float:
    """The distance threshold for a card face `face_px` wide: the stricter one below `small_face_px`."""
    return small_match_distance if face_px < small_face_px else match_distance


def largest_face(image: Image, detector: FaceDetector) -> FaceBox | None:
    return detector.detect(image).largest


def encode(image: Image, box: FaceBox | None, encoder: FaceEncoder) -> FaceEmbedding | None:
    return encoder.encode(image, box) if box is not None else None
