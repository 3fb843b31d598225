"""What every xAPI resource shares: the version header, parameter parsing, JSON bodies, timestamps.

`VersionDep` refuses requests without a supported `X-Experience-API-Version`; the `XAPIHeaders`
middleware puts the version on every `/xapi` response, errors included.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from footprint import jsonlimits
from footprint.xapi.canonical import agent_key
from footprint.xapi.checks import actor, iri, parse_timestamp, uuid
from footprint.xapi.errors import BadRequest, InvalidStatement
from footprint.xapi.statements import format_stored

PREFIX = "/xapi"
VERSION_HEADER = "X-Experience-API-Version"
CONSISTENT_THROUGH = "X-Experience-API-Consistent-Through"
SUPPORTED = re.compile(r"^(1\.0(\.[0-9]+)?|2\.0(\.[0-9]+)?)$")


def served_version(requested: str | None, default: str = "2.0.0") -> str:
    """The version this server answers with for a requested version (2.0.x → 2.0.0, 1.0.x → 1.0.3)."""
    if requested is None:
        return default
    return "2.0.0" if requested.strip().startswith("2.") else "1.0.3"


def xapi_version(request: Request) -> str:
    """The request's xAPI version, normalised to 1.0.3 or 2.0.0; 400 if missing or unsupported."""
    given = request.headers.get(VERSION_HEADER)
    if given is None:
        raise BadRequest(f"the {VERSION_HEADER} header is required")
    if not SUPPORTED.match(given.strip()):
        raise BadRequest(f"unsupported xAPI version {given!r}; this LRS speaks 1.0.3 and 2.0.0")
    return served_version(given)


VersionDep = Annotated[str, Depends(xapi_version)]

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def get_and_head(router: APIRouter, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
    """Register an endpoint for GET and HEAD (xAPI asks for both); only GET is in the OpenAPI document."""

    def register(endpoint: Endpoint) -> Endpoint:
        router.get(path, **options)(endpoint)
        router.head(path, include_in_schema=False, **options)(endpoint)
        return endpoint

    return register


class XAPIHeaders:
    """ASGI middleware: `X-Experience-API-Version` on every /xapi response, Consistent-Through on statements."""

    def __init__(self, app: ASGIApp, default_version: str) -> None:
        self.app = app
        self.default_version = default_version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        requested = None
        for name, value in scope.get("headers", []):
            if name.lower() == VERSION_HEADER.lower().encode():
                requested = value.decode("latin-1")
        version = served_version(requested, self.default_version).encode()
        statements = str(scope.get("path", "")).startswith(f"{PREFIX}/statements")

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-experience-api-version"]
                headers.append((b"x-experience-api-version", version))
                if statements and not any(k.lower() == CONSISTENT_THROUGH.lower().encode() for k, _ in headers):
                    headers.append((CONSISTENT_THROUGH.lower().encode(), now_stored().encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_version)


def now_stored() -> str:
    """The current time in the store's `stored` format (for Consistent-Through)."""
    return format_stored(datetime.now(UTC))


def parse_json(body: bytes | str, what: str = "the request body") -> Any:
    """JSON from a body or parameter; 400 with a clear message when it is not JSON, too deep or holds NUL."""
    try:
        return jsonlimits.loads(body, what)
    except jsonlimits.JSONLimitError as exc:
        raise BadRequest(str(exc)) from exc


def agent_param(value: str | None, name: str = "agent", *, required: bool = True) -> dict[str, Any] | None:
    """An Agent/Group query parameter (JSON), checked."""
    if value is None:
        if required:
            raise BadRequest(f"the {name} parameter is required")
        return None
    parsed = parse_json(value, f"the {name} parameter")
    try:
        actor(parsed, name)
    except InvalidStatement as exc:
        raise BadRequest(exc.message) from exc
    return dict(parsed)


def agent_param_key(value: str | None, name: str = "agent") -> str:
    """The identifier key of a required Agent parameter."""
    parsed = agent_param(value, name)
    key = agent_key(parsed) if parsed is not None else None
    if key is None:
        raise BadRequest(f"the {name} parameter must identify an agent (mbox, mbox_sha1sum, openid or account)")
    return key


def iri_param(value: str | None, name: str, *, required: bool = True) -> str | None:
    if value is None:
        if required:
            raise BadRequest(f"the {name} parameter is required")
        return None
    try:
        return iri(value, name)
    except InvalidStatement as exc:
        raise BadRequest(exc.message) from exc


def uuid_param(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return uuid(value, name).lower()
    except InvalidStatement as exc:
        raise BadRequest(exc.message) from exc


def timestamp_param(value: str | None, name: str) -> str | None:
    """A timestamp parameter converted to the `stored` format for comparison."""
    if value is None:
        return None
    instant = parse_timestamp(value)
    if instant is None:
        raise BadRequest(f"the {name} parameter must be an ISO 8601 timestamp")
    return format_stored(instant)


def bool_param(value: str | None, name: str) -> bool:
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise BadRequest(f"the {name} parameter must be true or false")
    return value.lower() == "true"


def only_params(params: Mapping[str, str], allowed: set[str]) -> None:
    """Refuse query parameters the resource does not define, and values with a NUL character."""
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
    bad = sorted(name for name, value in params.items() if "\0" in value)
    if bad:
        raise BadRequest(f"parameter(s) {', '.join(bad)} hold a NUL character (U+0000)")
