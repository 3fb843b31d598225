"""Security headers on every answer; on pages, a Content-Security-Policy that lets them load nothing from
outside the platform (colleges run it on closed networks; a page must never reach a CDN or a tracker).

A Permissions-Policy denies the browser's powerful features (camera, microphone, screen capture, location,
devices, payment) to every answer but the exam page, which sets its own (`EXAM_PAGE_FEATURES`); served over
HTTPS (the request's scheme, or an https `PROCTOR_PUBLIC_URL` behind a TLS proxy), Strict-Transport-Security
keeps browsers on HTTPS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:; "
    "frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
)
ALWAYS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
DENIED_FEATURES = (
    "accelerometer",
    "bluetooth",
    "camera",
    "display-capture",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "screen-wake-lock",
    "serial",
    "usb",
    "window-management",
    "xr-spatial-tracking",
)
EXAM_PAGE_FEATURES = frozenset({"camera", "microphone", "display-capture", "window-management"})
"""What the exam page uses: the camera and microphone, screen sharing, and whether a second screen is attached."""


def permissions_policy(allowed: frozenset[str] = frozenset()) -> str:
    """A Permissions-Policy allowing `allowed` to this origin only (not to framed pages) and denying the rest of
    the powerful features; fullscreen stays this origin's (the exam page and the desk's video player use it)."""
    features = [f"{name}=(self)" if name in allowed else f"{name}=()" for name in DENIED_FEATURES]
    return ", ".join([*features, "fullscreen=(self)"])


DEFAULT_PERMISSIONS = permissions_policy().encode()


class Ancestors(Protocol):
    def directive(self) -> str: ...


@dataclass
class FramingOrigins:
    """Who may frame the platform's pages: the platform itself, and the LMSs colleges registered (they show the
    exam page and the desk inside a course); `source` is set once the app knows its registrations."""

    source: Ancestors | None = None

    def policy(self, csp: bytes) -> bytes:
        if self.source is None:
            return csp
        return csp.replace(b"frame-ancestors 'self'", b"frame-ancestors " + self.source.directive().encode())


class SecurityHeaders:
    """ASGI middleware adding the headers above (the CSP only to HTML answers, HSTS only over HTTPS); an answer
    with its own CSP or Permissions-Policy keeps it (its `frame-ancestors` widened to the registered LMSs)."""

    def __init__(self, app: ASGIApp, *, https_public_url: bool = False, framing: FramingOrigins | None = None) -> None:
        self.app = app
        self.https_public_url = https_public_url
        self.framing = framing or FramingOrigins()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        https = self.https_public_url or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                names = {k.lower() for k, _ in headers}
                headers += ALWAYS
                if html and b"content-security-policy" not in names:  # else a page's own, stricter
                    headers.append((b"content-security-policy", PAGE_POLICY.encode()))
                headers = [
                    (k, self.framing.policy(v)) if k.lower() == b"content-security-policy" else (k, v)
                    for k, v in headers
                ]
                if b"permissions-policy" not in names:  # else the exam page's own
                    headers.append((b"permissions-policy", DEFAULT_PERMISSIONS))
                if https:
                    headers.append(HSTS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
