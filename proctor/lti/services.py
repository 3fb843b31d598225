"""Calling a platform's LTI Advantage services: an OAuth 2 access token by client credentials with a JWT the tool
signs (RFC 7523, as LTI 1.3 asks), then the service call; every request goes through the vetted outbound client
(no private or metadata address unless the operator allowed its network)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from proctor.lti.keys import ToolKey
from proctor.lti.registry import Platform
from proctor.outbound import OutboundPolicy, OutboundRefused

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_MARGIN_S = 60.0


class ServiceError(Exception):
    """A platform service call that did not succeed (the LMS is down, refused, or answered nonsense)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry
        """Trying again later may help (the LMS is down or busy), as opposed to a refusal."""


class ServiceClient:
    """Access tokens (cached until shortly before they expire) and service requests for registered platforms."""

    def __init__(
        self, outbound: OutboundPolicy, signing_key: Callable[[], ToolKey], clock: Callable[[], float] = time.time
    ) -> None:
        self._outbound = outbound
        self._signing_key = signing_key
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], tuple[float, str]] = {}

    def token(self, platform: Platform, scopes: Iterable[str]) -> str:
        scope = " ".join(sorted(set(scopes)))
        now = self._clock()
        with self._lock:
            cached = self._tokens.get((platform.id, scope))
        if cached is not None and cached[0] > now:
            return cached[1]
        assertion = self._signing_key().sign(
            {
                "iss": platform.client_id,
                "sub": platform.client_id,
                "aud": platform.token_url,
                "iat": int(now),
                "exp": int(now) + 300,
                "jti": secrets.token_urlsafe(16),
            }
        )
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            "scope": scope,
        }
        body = self._json(self.request(platform, "POST", platform.token_url, data=form, purpose="LTI token endpoint"))
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise ServiceError("the LMS's token endpoint answered no access_token", retry=False)
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) else 3600.0
        with self._lock:
            self._tokens[(platform.id, scope)] = (now + max(seconds - TOKEN_MARGIN_S, 0.0), access)
        return access

    def forget_tokens(self, platform_id: str) -> None:
        with self._lock:
            for key in [key for key in self._tokens if key[0] == platform_id]:
                del self._tokens[key]

    def request(
        self,
        platform: Platform,
        method: str,
        url: str,
        *,
        purpose: str,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        data: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request; ServiceError for a refused destination, a network failure or a status other than 2xx."""
        try:
            with self._outbound.client(purpose, timeout_s=15.0) as client:
                response = client.request(method, url, headers=headers, content=content, data=data)
        except OutboundRefused as exc:
            raise ServiceError(f"{purpose}: {exc}", retry=False) from exc
        except httpx.HTTPError as exc:
            raise ServiceError(f"{purpose} unreachable ({type(exc).__name__}: {exc})") from exc
        if response.status_code == 401:
            self.forget_tokens(platform.id)
        if not 200 <= response.status_code < 300:
            retry = response.status_code in (401, 408, 425, 429) or response.status_code >= 500
            raise ServiceError(f"{purpose} answered {response.status_code}: {response.text[:200]}", retry=retry)
        return response

    def call(
        self,
        platform: Platform,
        method: str,
        url: str,
        scopes: Iterable[str],
        *,
        purpose: str,
        accept: str,
        content_type: str | None = None,
        body: bytes | None = None,
    ) -> httpx.Response:
        """A service request with a bearer token for `scopes`."""
        headers = {"Authorization": f"Bearer {self.token(platform, scopes)}", "Accept": accept}
        if content_type is not None:
            headers["Content-Type"] = content_type  # exactly this: Moodle compares the whole header
        return self.request(platform, method, url, purpose=purpose, headers=headers, content=body)

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            document = response.json()
        except ValueError as exc:
            raise ServiceError("the LMS answered something that is not JSON", retry=False) from exc
        if not isinstance(document, dict):
            raise ServiceError("the LMS answered JSON that is not an object", retry=False)
        return document

    json_of = _json
