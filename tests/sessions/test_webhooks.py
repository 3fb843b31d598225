"""Webhooks against a real HTTP receiver on loopback: signed, retried with backoff, every attempt recorded;
only to vetted addresses (loopback is allowed here as an operator's internal network), never redirected."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from proctor.outbound import OutboundPolicy, parse_networks
from proctor.sessions.errors import InvalidInputError
from proctor.sessions.notify import WebhookNotifier
from proctor.sessions.tables import DeliveryRow
from proctor.sessions.webhooks import SIGNATURE_HEADER, deliver, verify_signature
from tests.fixtures.outbound import Receiver as Answering
from tests.sessions.conftest import Platform

SECRET = "college-webhook-secret"
INTERNAL = OutboundPolicy(parse_networks("127.0.0.0/8"))  # the operator's PROCTOR_OUTBOUND_ALLOW_NETWORKS


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
    with INTERNAL.client("webhook", timeout_s=5) as client:
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
    with INTERNAL.client("webhook", timeout_s=1) as client:
        history = deliver(
            client, "http://127.0.0.1:9/hook", SECRET, "session.analysed", {}, attempts=3, sleep=lambda _: None
        )
    assert len(history) == 3
    assert all(not a.ok and a.error for a in history)


def test_college_webhook_gets_the_session_summary_and_attempts_are_recorded(
    receiver: str, platform: Platform, media: Path
) -> None:
    notifier = WebhookNotifier(platform.service.sessions, attempts=3, backoff_s=0.01, outbound=INTERNAL)
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


def _session(platform: Platform, media: Path) -> str:
    exam = platform.service.create_exam(platform.college, "Interim: Mathematics", "interim", None)
    candidate = platform.service.add_candidate(
        platform.college, exam.id, "S-1", "Daniyar", (media / "obama.jpg").read_bytes()
    )
    return platform.service.create_session(platform.college, exam.id, candidate.id)[0].id


def test_registration_refuses_an_inside_url_unless_the_operator_allowed_its_network(
    receiver: str, platform: Platform
) -> None:
    notifier = WebhookNotifier(platform.service.sessions)
    try:
        for url in (receiver, "http://169.254.169.254/latest/meta-data", "http://[::ffff:7f00:1]:8000/metrics"):
            with pytest.raises(InvalidInputError, match="^webhook host (is|resolves to) .*address$"):
                notifier.register(platform.college, url)
        with pytest.raises(InvalidInputError, match="must start with http:// or https://"):
            notifier.register(platform.college, "gopher://127.0.0.1/")
    finally:
        notifier.close()
    allowed = WebhookNotifier(platform.service.sessions, outbound=INTERNAL)
    try:
        assert allowed.register(platform.college, receiver).url == receiver
    finally:
        allowed.close()


def test_a_hook_whose_name_moved_inside_after_registration_is_refused_at_delivery(
    platform: Platform, media: Path
) -> None:
    answers = {"hooks.college.example": ["93.184.215.14"]}
    policy = OutboundPolicy(resolver=lambda host, _port: answers[host])
    notifier = WebhookNotifier(platform.service.sessions, attempts=3, backoff_s=0.01, outbound=policy)
    with Answering() as inside:
        url = inside.url("hooks.college.example")
        try:
            notifier.register(platform.college, url)  # public when registered
            session_id = _session(platform, media)
            answers["hooks.college.example"] = ["127.0.0.1"]  # DNS rebinding to the inside receiver
            future = notifier.notify(session_id, "session.analysed")
            assert future is not None
            history = future.result(timeout=30)
        finally:
            notifier.close()
    assert inside.requests == []  # not one connection reached it
    [attempt] = history  # a refused destination is not retried
    assert attempt.status_code is None and attempt.error is not None
    assert "127.0.0.1, a loopback address" in attempt.error
    with platform.service.sessions() as db:
        rows = db.scalars(select(DeliveryRow).where(DeliveryRow.session_id == session_id)).all()
        assert [(r.url, r.status_code, r.error) for r in rows] == [(url, None, attempt.error)]


def test_a_redirect_is_a_failed_attempt_and_is_not_followed() -> None:
    with Answering() as target, Answering(status=302) as redirecting:
        redirecting.headers["Location"] = target.url(path="/elsewhere")
        with INTERNAL.client("webhook", timeout_s=5) as client:
            history = deliver(
                client, redirecting.url(), SECRET, "session.analysed", {}, attempts=2, sleep=lambda _: None
            )
    assert [a.status_code for a in history] == [302, 302] and not any(a.ok for a in history)
    assert len(redirecting.requests) == 2
    assert target.requests == []
