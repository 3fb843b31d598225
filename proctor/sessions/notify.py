"""Per-college webhooks: the session summary when analysis finishes and when a verdict is given.

Deliveries run on a small thread pool (never on the event loop), are signed and retried with backoff
by `webhooks.deliver`, and every attempt is recorded in `webhook_deliveries`. A URL is vetted when it is
registered and again at every attempt, which connects to the checked address only (proctor/outbound.py).
"""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from proctor.outbound import OutboundPolicy, OutboundRefused
from proctor.sessions.errors import InvalidInputError
from proctor.sessions.store import Writer
from proctor.sessions.tables import DeliveryRow, EventRow, ExamRow, SessionRow, WebhookRow
from proctor.sessions.webhooks import DeliveryAttempt, deliver

logger = logging.getLogger(__name__)


def session_summary(db: Session, row: SessionRow) -> dict[str, Any]:
    """What a college learns about a session: status, score, per-type contributions, event counts, verdict."""
    events = db.scalars(
        select(EventRow).where(EventRow.session_id == row.id, EventRow.analysis_run == row.analysis_run)
    ).all()
    counts: dict[str, int] = {}
    for event in events:
        counts[event.type] = counts.get(event.type, 0) + 1
    report = row.report or {}
    score = report.get("score", {}) if isinstance(report, dict) else {}
    return {
        "id": row.id,
        "exam_id": row.exam_id,
        "candidate_id": row.candidate_id,
        "status": row.status,
        "score": row.score,
        "contributions": score.get("contributions", []) if isinstance(score, dict) else [],
        "event_counts": counts,
        "analysis_state": row.job_state,
        "analysed_at": row.analysed_at.isoformat() if row.analysed_at else None,
    }


class WebhookNotifier:
    """Sends signed session notifications to each college's registered URL and records the attempts."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        attempts: int = 5,
        backoff_s: float = 2.0,
        timeout_s: float = 10.0,
        writer: Writer | None = None,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self.sessions = sessions
        self._write: Writer = writer or sessions.begin
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.outbound = outbound or OutboundPolicy()
        self._client = self.outbound.client("webhook", timeout_s)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="webhooks")

    def register(self, college_id: str, url: str, secret: str | None = None) -> WebhookRow:
        """Set (or replace) the college's webhook; returns it with the signing secret. A URL that is not http(s),
        holds a password, or whose host is or resolves to an address that is not public (and not allowed by the
        operator) raises InvalidInputError saying why."""
        try:
            self.outbound.vet(url, "webhook")
        except OutboundRefused as exc:
            raise InvalidInputError(str(exc)) from exc
        with self._write() as db:
            row = db.get(WebhookRow, college_id)
            if row is None:
                row = WebhookRow(college_id=college_id, url=url, secret=secret or secrets.token_urlsafe(32))
                db.add(row)
            else:
                row.url, row.secret = url, secret or row.secret
            return row

    def notify(self, session_id: str, event: str) -> Future[list[DeliveryAttempt]] | None:
        """Queue a delivery of the session's summary, if its college has a webhook."""
        with self.sessions() as db:
            row = db.get(SessionRow, session_id)
            exam = db.get(ExamRow, row.exam_id) if row is not None else None
            hook = db.get(WebhookRow, exam.college_id) if exam is not None else None
            if row is None or exam is None or hook is None:
                return None
            payload = {"event": event, "session": session_summary(db, row)}
            college_id, url, secret = exam.college_id, hook.url, hook.secret
        return self._pool.submit(self._send, college_id, session_id, event, url, secret, payload)

    def _send(
        self, college_id: str, session_id: str, event: str, url: str, secret: str, payload: dict[str, Any]
    ) -> list[DeliveryAttempt]:
        history = deliver(self._client, url, secret, event, payload, self.attempts, self.backoff_s)
        with self._write() as db:
            for attempt in history:
                db.add(
                    DeliveryRow(
                        college_id=college_id,
                        session_id=session_id,
                        event=event,
                        url=url,
                        attempt=attempt.attempt,
                        status_code=attempt.status_code,
                        error=attempt.error,
                    )
                )
        return history

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()
