"""Live sessions stay on the node that holds their peer connection: the load balancer routes every live
request by a pin made from the session's join token.

The pin is the first 8 bytes of SHA-256("proctor-pin:" + token), in hex: it names the session to the
load balancer and reveals nothing of the token — nor of the token's stored hash (SHA-256 of the token
alone), so the database does not hold the pins either. Every live request carries it in one of four
ways — the load balancer computes it from the token in `/join/TOKEN` and in `Authorization: Bearer
TOKEN` (`/live/offer`, `/live/recording/…`), and on the WebSocket (`/live/ws`, whose token travels inside
the first message where a balancer cannot see it) reads it from the `pin` query parameter or else from
the `proctor_pin` cookie. The platform sets that cookie on the candidate's page (`/join/TOKEN`), so the
browser sends it with the socket; the Python client puts the pin in the query (which, unlike the one
cookie of a browser, stays right when one browser holds two exams). deploy/haproxy.cfg.in is the HAProxy
configuration that does this routing.
"""

from __future__ import annotations

import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PIN_COOKIE = "proctor_pin"
PIN_QUERY = "pin"
PIN_MAX_AGE_S = 24 * 3600
PIN_PREFIX = "proctor-pin:"
"""Set before the token when the pin is made (the load balancer prepends the same)."""


def pin_of(token: str) -> str:
    """The routing pin of a join token (16 lowercase hex digits)."""
    return hashlib.sha256((PIN_PREFIX + token).encode()).digest()[:8].hex()


def pin_cookie(token: str, secure: bool) -> str:
    """The Set-Cookie value that makes the browser send the pin with every live request."""
    flags = "; Secure" if secure else ""
    return f"{PIN_COOKIE}={pin_of(token)}; Path=/live; Max-Age={PIN_MAX_AGE_S}; HttpOnly; SameSite=Strict{flags}"


class PinCookie:
    """Sets the pin cookie on the answers to `GET /join/TOKEN` (pure ASGI: the page itself is untouched)."""

    def __init__(self, app: ASGIApp, secure: bool = False) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/join/"):
            await self.app(scope, receive, send)
            return
        token = path[len("/join/") :].split("/", 1)[0]

        async def pinned(message: Message) -> None:
            if message["type"] == "http.response.start" and token and message.get("status", 500) < 400:
                cookie = pin_cookie(token, self.secure).encode()
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie)]
            await send(message)

        await self.app(scope, receive, pinned)
