"""Identity with the real dlib models on the face_recognition test photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from proctor.analyze import read_image
from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEmbedding, FaceEncoder, IdentityConfig, compare, enroll_reference
from proctor.errors import ReferencePhotoError

CONFIG = IdentityConfig()


def embed(media: Path, name: str, detector: FaceDetector, encoder: FaceEncoder) -> FaceEmbedding:
    return enroll_reference(read_image(media / name), detector, encoder, CONFIG)


@pytest.mark.parametrize("other", ["obama2.jpg", "obama3.jpg", "obama_partial_face.jpg"])
def test_same_person_matches(media: Path, detector: FaceDetector, encoder: FaceEncoder, other: str) -> None:
    check = compare(embed(media, "obama.jpg", detector, encoder), embed(media, other, detector, encoder), CONFIG)
    assert check.match, check
    assert check.distance < 0.5


@pytest.mark.parametrize("other", ["biden.jpg", "single_face.jpg"])
def test_other_person_mismatches(media: Path, detector: FaceDetector, encoder: FaceEncoder, other: str) -> None:
    check = compare(embed(media, "obama.jpg", detector, encoder), embed(media, other, detector, encoder), CONFIG)
    assert not check.match, check
    assert check.distance > 0.7


def test_reference_with_several_faces_is_refused(media: Path, detector: FaceDetector, encoder: FaceEncoder) -> None:
    with pytest.raises(ReferencePhotoError, match="5 faces"):
        embed(media, "multi_face.jpg", detector, encoder)


def test_reference_without_face_is_refused(media: Path, detector: FaceDetector, encoder: FaceEncoder) -> None:
    with pytest.raises(ReferencePhotoError, match="no face"):
        embed(media, "free-mountain-vector-01.jpg", detector, encoder)


def test_blurred_reference_is_refused(media: Path, detector: FaceDetector, encoder: FaceEncoder) -> None:
    blurred = cv2.GaussianBlur(read_image(media / "obama.jpg"), (41, 41), 12)
    with pytest.raises(ReferencePhotoError, match="blurred"):
        enroll_reference(blurred, detector, encoder, CONFIG)


def test_small_reference_face_is_refused(media: Path, detector: FaceDetector, encoder: FaceEncoder) -> None:
    image = read_image(media / "obama.jpg")
    small = cv2.resize(image, (image.shape[1] // 5, image.shape[0] // 5), interpolation=cv2.INTER_AREA)
    with pytest.raises(ReferencePhotoError, match="px wide"):
        enroll_reference(small, detector, encoder, CONFIG)


def test_unreadable_reference_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "photo.jpg"
    bogus.write_bytes(b"not a jpeg at all")
    with pytest.raises(ReferencePhotoError, match="not a readable image"):
        read_image(bogus)
