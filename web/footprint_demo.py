"""The demo college's semester of digital footprint: generated once and fed through the platform's own HTTP API.

`make run` seeds it before the server starts: the platform is served on a free loopback port for the time
of the feed (the same app, the same xAPI and footprint endpoints an LMS would call), the semester's statements
are posted and then the catalogue imported, then the server stops. The catalogue comes last, so a college that
has one has its whole semester and is left as it is (a second `make run` starts at once); a feed cut short
leaves no catalogue and is fed again (repeated statements are stored once).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import uvicorn

from footprint.accounts import Credential, proctoring_authority
from footprint.catalogue.store import latest_catalogue
from footprint.semester.college import build_college
from footprint.semester.feed import PlatformSink, feed
from footprint.semester.plan import SemesterPlan
from footprint.xapi.statements import store_statements
from web.app import create_app
from web.deps import Services

logger = logging.getLogger(__name__)

DEMO_LEARNERS = 40
DEMO_GROUP_SIZE = 5
DEMO_VIEWS_PER_SESSION = 5
START_TIMEOUT_S = 60.0

DONE = """
Digital footprint: a {weeks}-week semester of {learners} learners in {groups} groups (generated, Moodle-shaped)
  pages: {url}/desk/footprint/ (signed in to the desk); API: {url}/api/v1/footprint/compliance (the key above)
  deliberately out of compliance: {breaches}
"""


def demo_plan(today: date, platform_url: str) -> SemesterPlan:
    """A semester that ended last week (every figure of it is in the past)."""
    monday = today - timedelta(days=today.weekday())
    return SemesterPlan(
        learners=DEMO_LEARNERS,
        group_size=DEMO_GROUP_SIZE,
        start=monday - timedelta(weeks=17),
        views_per_session=DEMO_VIEWS_PER_SESSION,
        moodle_url="https://moodle.demo.kz",
        platform_url=platform_url,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proctoring_sink(services: Services, college_id: str) -> PlatformSink:
    """Where the generated proctored attestations go: the LRS store under the platform's proctoring authority, as
    the session service's statement sink writes a real session's results (never through a college's key)."""
    authority = proctoring_authority(services.settings.base_url)

    def write(statements: list[dict[str, Any]]) -> None:
        with services.writing() as db:
            store_statements(
                db, services.ledger, statements, college_id=college_id, authority=authority, version="1.0.3"
            )

    return write


def seed_footprint(services: Services, credential: Credential, key: str, plan: SemesterPlan | None = None) -> str:
    """Feed the demo college a generated semester (once); returns what to tell the person trying the demo."""
    with services.sessions() as db:
        if latest_catalogue(db, credential.college_id) is not None:
            return "\nDigital footprint: the demo college's semester is already there (pages at /desk/footprint/)\n"
    plan = plan or demo_plan(datetime.now(UTC).date(), services.settings.base_url)
    college = build_college(plan)
    settings = services.settings.model_copy(update={"host": "127.0.0.1", "port": _free_port()})
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="footprint-demo-feed", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the platform did not start for the demo feed")
            time.sleep(0.05)
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}", headers=headers, timeout=120) as client:
            fed = feed(client, college, credential.college_id, proctoring_sink(services, credential.college_id))
            client.get("/ledger/checkpoint")  # the pages compute at the newest signed checkpoint: sign one now
    finally:
        server.should_exit = True
        thread.join(timeout=60)
    logger.info("demo footprint: %d statements, catalogue version %d", fed.statements, fed.catalogue_version)
    return DONE.format(
        weeks=plan.weeks,
        learners=plan.learners,
        groups=len(college.catalogue.groups),
        url=services.settings.base_url,
        breaches="; ".join(f"{group}: {why}" for group, why in college.breaches.items()),
    )
