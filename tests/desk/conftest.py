"""The desk tests' world: built once per test process from the real analysis of the demo exam, copied for each
test that changes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.desk.world import World, copy_world


@pytest.fixture
def world(built_world: World, tmp_path: Path) -> World:
    """A private copy of the world (SQLite and media) for one test."""
    return copy_world(built_world, tmp_path / "data")
