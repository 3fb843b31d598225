"""Real models and real media for the analysis-core tests (loaded once per test process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEncoder
from tests.fixtures.scenarios import Scenario, build_demo


@pytest.fixture(scope="session")
def detector() -> Iterator[FaceDetector]:
    with FaceDetector() as face_detector:
        yield face_detector


@pytest.fixture(scope="session")
def encoder() -> FaceEncoder:
    return FaceEncoder()


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, media: Path) -> Scenario:
    """The composed demo exam (present → absent → second person → other person → talking)."""
    return build_demo(tmp_path_factory.mktemp("demo"))
