"""Feeding a generated semester to the platform through its real HTTP API: the statements through the xAPI
resource, in batches, in time order, week by week, and then the catalogue through the footprint API (last: the
demo judges "already seeded" by it).

`client` is any HTTP client (httpx, FastAPI's TestClient) whose base URL is the platform and whose
`Authorization` holds the college's key: what Moodle and BigBlueButton send goes that way. The proctored
attestations do not: the platform's proctoring writes them itself, so they go to `platform`, a sink that
stores statements as the session service does (the LRS store under the platform's proctoring authority).
Re-feeding is harmless: statement ids are deterministic (the LRS answers a repeat with nothing new) and an
unchanged catalogue stores no new version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from footprint.semester.behaviour import Semester
from footprint.semester.plan import College

logger = logging.getLogger(__name__)

XAPI_HEADERS = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}


@dataclass(frozen=True)
class Fed:
    catalogue_version: int
    statements: int


class Answer(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class Client(Protocol):
    """What the feed needs of an HTTP client: httpx's, or FastAPI's TestClient (httpx2) in tests."""

    def put(self, url: str, *, content: str) -> Answer: ...

    def post(self, url: str, *, json: Any, headers: Mapping[str, str]) -> Answer: ...


PlatformSink = Callable[[list[dict[str, Any]]], None]
"""Stores statements as the platform's proctoring writes them (in one transaction, under its own authority)."""


class FeedError(RuntimeError):
    """The platform refused part of the semester (with its answer)."""


def feed_catalogue(client: Client, college: College) -> int:
    response = client.put("/api/v1/footprint/catalogue", content=college.catalogue.model_dump_json())
    if response.status_code not in (200, 201):
        raise FeedError(f"catalogue refused: {response.status_code} {response.text[:500]}")
    return int(response.json()["version"])


def feed_statements(client: Client, college: College, college_id: str, platform: PlatformSink, batch: int = 500) -> int:
    sent = 0
    for number, week in enumerate(Semester(college, college_id).weeks()):
        for start in range(0, len(week.lms), batch):
            chunk = week.lms[start : start + batch]
            response = client.post("/xapi/statements", json=chunk, headers=XAPI_HEADERS)
            if response.status_code != 200:
                raise FeedError(f"week {number + 1}: statements refused: {response.status_code} {response.text[:500]}")
            sent += len(chunk)
        for start in range(0, len(week.platform), batch):
            platform(week.platform[start : start + batch])
            sent += len(week.platform[start : start + batch])
        logger.info("week %d fed (%d statements so far)", number + 1, sent)
    return sent


def feed(client: Client, college: College, college_id: str, platform: PlatformSink, batch: int = 500) -> Fed:
    """Every statement of the semester (the proctored attestations through `platform`), then the catalogue: a
    college holds a catalogue only once its statements are all in, so a feed cut short is fed again."""
    statements = feed_statements(client, college, college_id, platform, batch)
    return Fed(feed_catalogue(client, college), statements)
