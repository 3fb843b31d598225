"""xAPI 1.0.3 Alternate Request Syntax: `POST ...?method=PUT` with headers and content in a form body.

Browsers that cannot send arbitrary methods or headers use it; this ASGI middleware turns such a
request back into the plain one before routing. xAPI 2.0 dropped the syntax, so a 2.0 request
using it is refused.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.errors import error_response
from web.routes.xapi.common import PREFIX

HEADER_FIELDS = {"authorization", "x-experience-api-version", "content-type", "content-length"}
HEADER_FIELDS |= {"if-match", "if-none-match"}
METHODS = {"GET", "PUT", "POST", "DELETE", "HEAD"}


class AlternateSyntax:
    """ASGI middleware rewriting Alternate Request Syntax requests under /xapi."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PREFIX) or "method" not in query:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        body = await self._body(receive)
        if body is None:
            message = f"request body larger than {self.max_body} bytes"
            await error_response(413, "payload_too_large", message)(scope, receive, send)
            return
        problem, rewritten, content = self._rewrite(scope, query, headers, body)
        if problem is not None:
            await error_response(400, "bad_request", problem)(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": content, "more_body": False}

        await self.app(rewritten, replay, send)

    async def _body(self, receive: Receive) -> bytes | None:
        """The whole form body, or None once it grows past the limit (never a silently cut one)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    def _rewrite(
        scope: Scope, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[str | None, Scope, bytes]:
        if scope["method"] != "POST":
            return "the Alternate Request Syntax is sent as POST", scope, b""
        if set(query) != {"method"}:
            return "with the Alternate Request Syntax, every parameter goes in the form body", scope, b""
        method = query["method"][0].upper()
        if method not in METHODS:
            return f"unsupported method {method!r}", scope, b""
        if not headers.get("content-type", "").lower().startswith("application/x-www-form-urlencoded"):
            return "the Alternate Request Syntax needs an application/x-www-form-urlencoded body", scope, b""
        try:
            text = body.decode("utf-8")
            form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True, errors="strict").items()}
        except UnicodeDecodeError:
            return "the form body is not valid UTF-8 (percent-encoded UTF-8 is expected)", scope, b""
        version = form.get("X-Experience-API-Version") or headers.get("x-experience-api-version", "")
        if version.strip().startswith("2."):
            return "xAPI 2.0 does not allow the Alternate Request Syntax", scope, b""
        new_headers = {k: v for k, v in headers.items() if k not in ("content-type", "content-length")}
        params: dict[str, str] = {}
        for name, value in form.items():
            if name.lower() in HEADER_FIELDS:
                new_headers[name.lower()] = value
            elif name != "content":
                params[name] = value
        content = form.get("content", "").encode("utf-8")
        new_headers.pop("content-length", None)
        if content:
            new_headers.setdefault("content-type", "application/json")
        new_headers["content-length"] = str(len(content))
        try:
            raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in new_headers.items()]
        except UnicodeEncodeError:
            return "a header given in the form holds characters a header cannot carry", scope, b""
        rewritten = {**scope, "method": method, "query_string": urlencode(params).encode(), "headers": raw_headers}
        return None, rewritten, content
