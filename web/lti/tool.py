"""The LTI tool inside the running app: the platforms' keysets, the service client, the grade book and the roster,
the origins allowed to frame the platform's pages, and the loop that writes grades and reads rosters."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, cast
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from proctor.lti.grades import GradeBook
from proctor.lti.keys import ToolKey, signing_key
from proctor.lti.launch import KeysetCache, forget_states
from proctor.lti.roster import Roster
from proctor.lti.services import ServiceClient, ServiceError
from proctor.lti.tables import PlatformRow
from proctor.outbound import OutboundPolicy
from web.deps import Services
from web.once import on_one_node

logger = logging.getLogger(__name__)

LOOP_INTERVAL_S = 15.0


def origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


@dataclass
class FrameAncestors:
    """The registered platforms' origins: pages may be framed by them (the LMS shows the tool in its course page)."""

    origins: tuple[str, ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self, services: Services) -> None:
        with services.sessions() as db:
            rows = db.execute(select(PlatformRow.issuer, PlatformRow.auth_url).where(PlatformRow.disabled_at.is_(None)))
            found = sorted({o for row in rows for o in map(origin, row) if o is not None})
        with self._lock:
            self.origins = tuple(found)

    def directive(self) -> str:
        return " ".join(["'self'", *self.origins])


class LtiTool:
    """What the LTI routes and the loop share in one app."""

    def __init__(self, services: Services, outbound: OutboundPolicy) -> None:
        self.services = services
        self.outbound = outbound
        self.keysets = KeysetCache(outbound)
        self.client = ServiceClient(outbound, self.signing_key)
        self.grades = GradeBook(services.sessions, services.writing, services.ledger, self.client)
        self.roster = Roster(services.sessions, services.writing, self.client)
        self.frames = FrameAncestors()

    def signing_key(self) -> ToolKey:
        with self.services.writing() as db:
            return signing_key(db)

    def round(self, now: datetime | None = None) -> None:
        """One round of the loop: grades owed to the LMSs, rosters of the exams about to open (one node at a time);
        failures are logged, never raised."""
        moment = now or datetime.now(UTC)
        try:
            self.frames.refresh(self.services)
            with on_one_node(self.services.engine, "lti") as mine:
                if not mine:
                    return
                self.grades.deliver_due(moment)
                with self.services.writing() as db:
                    forget_states(db, moment - timedelta(days=1))
                for college_id, exam_id in self.roster.due_exams(moment):
                    try:
                        report = self.roster.sync(college_id, exam_id, moment)
                        logger.info("read the LMS roster of exam %s: %d learners", exam_id, report.learners)
                    except ServiceError as exc:
                        logger.warning("could not read the LMS roster of exam %s: %s", exam_id, exc)
        except Exception:  # the next round must still run
            logger.exception("LTI round failed")


async def lti_loop(tool: LtiTool, interval_s: float = LOOP_INTERVAL_S) -> None:
    while True:
        await asyncio.sleep(interval_s)
        await run_in_threadpool(tool.round)


def get_lti(request: Request) -> LtiTool:
    return cast(LtiTool, request.state.lti)


LtiDep = Annotated[LtiTool, Depends(get_lti)]
