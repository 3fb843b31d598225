"""BlazeFace on real photos."""

from __future__ import annotations

from pathlib import Path

import pytest

from proctor.analyze import read_image
from proctor.analyzers.faces import FaceDetector


@pytest.mark.parametrize(
    ("name", "count"),
    [("multi_face.jpg", 5), ("single_face.jpg", 1), ("obama.jpg", 1), ("free-mountain-vector-01.jpg", 0)],
)
def test_face_count(media: Path, detector: FaceDetector, name: str, count: int) -> None:
    faces = detector.detect(read_image(media / name))
    assert faces.count == count
    assert all(0.5 <= face.score <= 1.0 for face in faces.faces)
    assert [f.area for f in faces.faces] == sorted((f.area for f in faces.faces), reverse=True)
