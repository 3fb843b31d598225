"""Fixtures for the web tests: the real app on a real database, a client with the bootstrap key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from web.app import create_app
from web.settings import Settings

KEY = "test-bootstrap-key-0123456789"
HEADERS = {"X-Experience-API-Version": "1.0.3", "Authorization": f"Bearer {KEY}"}


def statement(actor: str = "ann", verb: str = "answered", activity: str = "q1", **extra: Any) -> dict[str, Any]:
    """A small valid statement."""
    return {
        "actor": {"objectType": "Agent", "mbox": f"mailto:{actor}@example.kz"},
        "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}", "display": {"en-US": verb}},
        "object": {"id": f"https://proctor.kz/activities/{activity}"},
        **extra,
    }


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=db_url, bootstrap_api_key=KEY, checkpoint_interval_s=3600)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client of the app (lifespan run: migrated DB, key, demo college) sending the xAPI headers."""
    with TestClient(create_app(settings), headers=HEADERS) as test_client:
        yield test_client
