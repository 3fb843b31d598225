"""Signed webhook deliveries with retries and backoff.

Each delivery carries `X-Proctor-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "t.body")>`,
so a college can check both the sender and the freshness (reject old timestamps against replay).
Redirects are not followed: a 3xx answer is a failed attempt. A destination the client's outbound policy
refuses (proctor/outbound.py) ends the delivery at once, with no request sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from proctor.outbound import OutboundRefused

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Proctor-Signature"
EVENT_HEADER = "X-Proctor-Event"


@dataclass(frozen=True)
class DeliveryAttempt:
    """One try to deliver a webhook: when, what came back, and how long it took."""

    attempt: int
    at: float
    status_code: int | None
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def body_bytes(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, body: bytes, header: str, now: float, tolerance_s: float = 300.0) -> bool:
    """What a receiving college does: check the HMAC and that the timestamp is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, body, timestamp), header)


def deliver(
    client: httpx.Client,
    url: str,
    secret: str,
    event: str,
    payload: Mapping[str, Any],
    attempts: int = 5,
    backoff_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[DeliveryAttempt]:
    """POST the payload until a 2xx answer or `attempts` tries, doubling the wait each time; a refused
    destination stops at the first try."""
    body = body_bytes(payload)
    history: list[DeliveryAttempt] = []
    for attempt in range(1, attempts + 1):
        started = time.time()
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: event,
            SIGNATURE_HEADER: signature(secret, body, int(started)),
        }
        status: int | None = None
        error: str | None = None
        refused = False
        try:
            status = client.post(url, content=body, headers=headers).status_code
        except OutboundRefused as exc:
            error, refused = f"refused: {exc}", True
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        record = DeliveryAttempt(attempt, started, status, error, round(1000 * (time.time() - started), 1))
        history.append(record)
        if record.ok:
            break
        logger.warning("webhook %s to %s failed (attempt %d): %s", event, url, attempt, error or status)
        if refused:
            break
        if attempt < attempts:
            sleep(backoff_s * 2 ** (attempt - 1))
    return history
