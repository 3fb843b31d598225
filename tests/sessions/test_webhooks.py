"""Webhooks against a real HTTP receiver on loopback: signed, retried with backoff, every attempt recorded."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from proctor.sessions.webhooks import SIGNATURE_HEADER, deliver, verify_signature
from tests.sessions.conftest import Platform

SECRET = "college-webhook-secret"


class Receiver(BaseHTTPRequestHandler):
    failures_left = 0
    received: list[tuple[bytes, str]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((body, self.headers[SIGNATURE_HEADER]))
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(503)
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_delivery_is_signed_and_retried_until_accepted(receiver: str) -> None:
    Receiver.failures_left = 2
    waits: list[float] = []
    with httpx.Client(timeout=5) as client:
        history = deliver(
            client, receiver, SECRET, "session.analysed", {"session": "s1", "score": 12.5}, sleep=waits.append
        )
    assert [a.status_code for a in history] == [503, 503, 204]
    assert waits == [1.0, 2.0]  # exponential backoff
    body, header = Receiver.received[-1]
    assert verify_signature(SECRET, body, header, now=time.time())
    assert not verify_signature("another-secret", body, header, now=time.time())
    assert not verify_signature(SECRET, body + b" ", header, now=time.time())
    assert not verify_signature(SECRET, body, header, now=time.time() + 3600)  # replayed an hour later


def test_unreachable_receiver_gives_up_after_all_attempts() -> None:
    with httpx.Client(timeout=1) as client:
        history = deliver(
            client, "http://127.0.0.1:9/hook", SECRET, "session.analysed", {}, attempts=3, sleep=lambda _: None
        )
    assert len(history) == 3
    assert all(not a.ok and a.error for a in history)


def test_college_webhook_gets_the_session_summary_and_attempts_are_recorded(
    receiver: str, platform: Platform, media: Path
) -> None:
    from sqlalchemy import select

    from proctor.sessions.notify import WebhookNotifier
    from proctor.sessions.tables import DeliveryRow

    notifier = WebhookNotifier(platform.service.sessions, attempts=3, backoff_s=0.01)
    try:
        hook = notifier.register(platform.college, receiver)
        exam = platform.service.create_exam(platform.college, "Interim: Mathematics", "interim", None)
        candidate = platform.service.add_candidate(
            platform.college, exam.id, "S-1", "Daniyar", (media / "obama.jpg").read_bytes()
        )
        row, _ = platform.service.create_session(platform.college, exam.id, candidate.id)
        Receiver.failures_left = 1
        future = notifier.notify(row.id, "session.analysed")
        assert future is not None
        history = future.result(timeout=30)
    finally:
        notifier.close()
    assert [a.status_code for a in history] == [503, 204]
    body, header = Receiver.received[-1]
    assert verify_signature(hook.secret, body, header, now=time.time())
    summary = json.loads(body)
    assert summary["event"] == "session.analysed"
    assert summary["session"]["id"] == row.id and summary["session"]["status"] == "scheduled"
    with platform.service.sessions() as db:
        rows = db.scalars(select(DeliveryRow).where(DeliveryRow.session_id == row.id)).all()
        assert [(r.attempt, r.status_code) for r in rows] == [(1, 503), (2, 204)]
