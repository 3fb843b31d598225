"""Absolute URLs the platform gives out start with `PROCTOR_PUBLIC_URL`, never with the request's `Host` header
(which any client writes: a forged one would put another site in a `next` link or a redirect)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from starlette.datastructures import URL
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.deps import get_services


def public_url(request: Request, **params: Any) -> str:
    """This request's path and query on the public URL, with `params` set in the query (a list's `next` page)."""
    query = request.url.include_query_params(**params).query if params else request.url.query
    base = get_services(request).settings.base_url
    return f"{base}{request.url.path}" + (f"?{query}" if query else "")


class PublicRedirects:
    """ASGI middleware putting a redirect the framework built from the request's own address (a trailing slash
    taken off) on the public URL; relative redirects and ones to other sites are left as they are."""

    def __init__(self, app: ASGIApp, *, base_url: str) -> None:
        self.app = app
        self.base_url = base_url.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        own = URL(scope=scope).netloc  # what the framework takes a redirect's host from

        async def send_public(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, self._public(value, own) if name.lower() == b"location" else value)
                    for name, value in message.get("headers", [])
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_public)

    def _public(self, location: bytes, own: str) -> bytes:
        parts = urlsplit(location.decode("latin-1"))
        if not parts.netloc or parts.netloc != own:
            return location
        rest = (
            (parts.path or "/")
            + (f"?{parts.query}" if parts.query else "")
            + (f"#{parts.fragment}" if parts.fragment else "")
        )
        return (self.base_url + rest).encode("latin-1")
