"""Real models and real media for the analysis-core tests (loaded once per test process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEncoder


@pytest.fixture(scope="session")
def detector() -> Iterator[FaceDetector]:
    with FaceDetector() as face_detector:
        yield face_detector


@pytest.fixture(scope="session")
def encoder() -> FaceEncoder:
    return FaceEncoder()
