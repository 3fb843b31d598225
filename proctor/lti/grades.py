"""Assignment and Grade Services: the proctoring outcome of a session launched from the LMS goes back to the
course's gradebook, in a line item of its own ("Proctoring review", one per linked exam) — never the quiz's grade.

A verdict (or the session's submission, as pending) adds a grade write in the same transaction as the verdict; a
newer one supersedes the writes still owed for that session. Writes are delivered by `GradeBook.deliver_due`
(a loop of the server, one node at a time), retried with backoff while the LMS is down, and each write that
reached the LMS is recorded in the ledger.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from footprint.ledger import Ledger
from proctor.lti import claims as c
from proctor.lti.registry import platform_of
from proctor.lti.services import ServiceClient, ServiceError
from proctor.lti.tables import GradeWriteRow, LinkRow, PlatformRow
from proctor.sessions.tables import CandidateRow, SessionRow

logger = logging.getLogger(__name__)

LABEL = "Proctoring review"
TAG = "proctoring-review"
PENDING = "pending"
SCORES = {"confirmed": 1.0, "annulled": 0.0, "retake": 0.0}
"""The score of each outcome, out of 1; the comment names the outcome."""
COMMENTS = {
    "confirmed": "Proctoring review: result confirmed",
    "annulled": "Proctoring review: result annulled",
    "retake": "Proctoring review: retake required",
    PENDING: "Proctoring review: pending",
}
FIRST_RETRY_S = 30.0
MAX_RETRY_S = 3600.0


def enqueue(db: Session, session: SessionRow, status: str, now: datetime | None = None) -> GradeWriteRow | None:
    """Owe the LMS this session's outcome (in the caller's transaction); None for a session not launched from one."""
    if session.lti_link_id is None or status not in COMMENTS:
        return None
    candidate = db.get(CandidateRow, session.candidate_id)
    if candidate is None or candidate.lti_sub is None:
        return None
    moment = now or datetime.now(UTC)
    db.execute(
        update(GradeWriteRow)
        .where(GradeWriteRow.session_id == session.id, GradeWriteRow.done_at.is_(None))
        .values(superseded=True)
    )
    row = GradeWriteRow(
        session_id=session.id,
        link_id=session.lti_link_id,
        user_sub=candidate.lti_sub,
        status=status,
        comment=COMMENTS[status],
        created_at=moment,
        attempts=0,
        next_at=moment,
        superseded=False,
    )
    db.add(row)
    db.flush()
    return row


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … up to an hour between tries."""
    return timedelta(seconds=min(FIRST_RETRY_S * 2 ** max(attempts - 1, 0), MAX_RETRY_S))


def scores_url(lineitem_url: str) -> str:
    """`…/lineitem?type_id=3` → `…/lineitem/scores?type_id=3` (the query stays after the path, as AGS says)."""
    parts = urlsplit(lineitem_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


class GradeBook:
    """Delivers the grade writes that are due."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        writing: Callable[[], AbstractContextManager[Session]],
        ledger: Ledger,
        client: ServiceClient,
    ) -> None:
        self._sessions = sessions
        self._writing = writing
        self._ledger = ledger
        self._client = client

    def deliver_due(self, now: datetime | None = None, limit: int = 50) -> int:
        """Try each write that is due once; the number delivered."""
        moment = now or datetime.now(UTC)
        with self._sessions() as db:
            due = list(
                db.scalars(
                    select(GradeWriteRow.id)
                    .where(
                        GradeWriteRow.done_at.is_(None),
                        GradeWriteRow.superseded.is_(False),
                        GradeWriteRow.next_at <= moment,
                    )
                    .order_by(GradeWriteRow.next_at)
                    .limit(limit)
                )
            )
        return sum(self._deliver(write_id, moment) for write_id in due)

    def _deliver(self, write_id: int, now: datetime) -> bool:
        with self._sessions() as db:
            write = db.get(GradeWriteRow, write_id)
            link = db.get(LinkRow, write.link_id) if write is not None else None
            platform_row = db.get(PlatformRow, link.platform_id) if link is not None else None
            if write is None or link is None or platform_row is None:
                return False
            platform = platform_of(platform_row)
            status, sub, comment = write.status, write.user_sub, write.comment
            lineitem, resource_link, exam_id = link.lineitem_url, link.resource_link_id, link.exam_id
            lineitems = link.lineitems_url
        try:
            if not platform.enabled:
                raise ServiceError("the LMS registration is disabled", retry=True)
            if lineitem is None:
                if lineitems is None:
                    raise ServiceError("the LMS gave no line items URL (Assignment and Grade Services off)")
                lineitem = self._line_item(
                    platform_row_id=platform.id,
                    lineitems=lineitems,
                    link_id=link.id,
                    resource_link=resource_link,
                    exam_id=exam_id,
                )
            score: dict[str, object] = {
                "userId": sub,
                "comment": comment,
                "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "activityProgress": "Submitted" if status == PENDING else "Completed",
                "gradingProgress": "Pending" if status == PENDING else "FullyGraded",
            }
            if status != PENDING:
                score["scoreGiven"] = SCORES[status]
                score["scoreMaximum"] = 1.0
            self._client.call(
                platform,
                "POST",
                scores_url(lineitem),
                [c.SCOPE_SCORE],
                purpose="LTI score",
                accept="application/json",
                content_type=c.SCORE_TYPE,
                body=json.dumps(score).encode(),
            )
        except ServiceError as exc:
            with self._writing() as db:
                row = db.get(GradeWriteRow, write_id, with_for_update=True)
                if row is not None and row.done_at is None:
                    row.attempts += 1
                    row.last_error = str(exc)[:1000]
                    row.next_at = now + backoff(row.attempts)
            logger.warning("LTI grade write %d not delivered (try %s): %s", write_id, "again later", exc)
            return False
        with self._writing() as db:
            row = db.get(GradeWriteRow, write_id, with_for_update=True)
            if row is None:
                return False
            row.attempts += 1
            row.done_at = now
            row.last_error = None
            entry = self._ledger.append(
                db,
                "lti_grade",
                f"{row.session_id}/{row.id}",
                {
                    "session": row.session_id,
                    "platform": platform.id,
                    "lineitem": lineitem,
                    "user": sub,
                    "status": status,
                    "written_at": now.isoformat(),
                },
            )
            row.ledger_index = entry.index
        return True

    def _line_item(
        self, *, platform_row_id: str, lineitems: str, link_id: int, resource_link: str, exam_id: str
    ) -> str:
        """The link's "Proctoring review" line item: found by its tag, else created; kept on the link."""
        with self._sessions() as db:
            platform = platform_of(db.get_one(PlatformRow, platform_row_id))
        listing = self._client.call(
            platform,
            "GET",
            _with_query(lineitems, resource_link_id=resource_link, tag=TAG),
            [c.SCOPE_LINEITEM],
            purpose="LTI line items",
            accept=c.LINEITEMS_TYPE,
        )
        found = None
        try:
            items = listing.json()
        except ValueError:
            items = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("tag") == TAG and str(item.get("resourceLinkId")) == resource_link:
                found = item.get("id")
        if not isinstance(found, str):
            body = {
                "scoreMaximum": 1,
                "label": LABEL,
                "tag": TAG,
                "resourceId": exam_id,
                "resourceLinkId": resource_link,
            }
            made = self._client.call(
                platform,
                "POST",
                lineitems,
                [c.SCOPE_LINEITEM],
                purpose="LTI line item",
                accept=c.LINEITEM_TYPE,
                content_type=c.LINEITEM_TYPE,
                body=json.dumps(body).encode(),
            )
            found = ServiceClient.json_of(made).get("id")
            if not isinstance(found, str):
                raise ServiceError("the LMS made a line item without an id", retry=False)
        with self._writing() as db:
            link = db.get(LinkRow, link_id)
            if link is not None:
                link.lineitem_url = found
        return found
