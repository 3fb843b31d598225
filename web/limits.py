"""Bounds on JSON request bodies that reach FastAPI's own parsing (the college API).

The xAPI resources parse their bodies themselves with the same bounds (`footprint.jsonlimits`);
every other JSON body is checked here before routing: too deep, NUL characters or too large get one
clear 400 / 413 in the platform's error shape instead of a RecursionError or a database error.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from footprint import jsonlimits
from web.errors import error_response


class JSONBodyLimits:
    """ASGI middleware: buffer and check JSON bodies outside `skip_prefix`, then hand them on unchanged."""

    def __init__(self, app: ASGIApp, max_body: int, skip_prefix: str) -> None:
        self.app = app
        self.max_body = max_body
        self.skip_prefix = skip_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.skip_prefix) or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await error_response(413, "payload_too_large", f"request body larger than {self.max_body} bytes")(
                    scope, receive, send
                )
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        if body.strip():
            try:
                jsonlimits.loads(body)
            except jsonlimits.JSONLimitError as exc:
                await error_response(400, "invalid_request", str(exc))(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-type":
            media = bytes(value).split(b";")[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False
