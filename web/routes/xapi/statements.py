"""The xAPI Statements resource: PUT/POST statements (JSON or multipart with attachments), GET and query."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from footprint.accounts import Credential
from footprint.ledger import DuplicateRecordError
from footprint.xapi.attachments import build_multipart, parse_multipart
from footprint.xapi.canonical import canonical_format, ids_format
from footprint.xapi.errors import BadRequest, Conflict, NotFound
from footprint.xapi.parts import Attachment
from footprint.xapi.queries import StatementQuery, attachments_for, get_statement, query_statements
from footprint.xapi.statements import StoreResult, store_statements
from web.auth import XapiKey
from web.deps import BodyDep, Services, ServicesDep, SessionDep
from web.routes.xapi.common import (
    CONSISTENT_THROUGH,
    VersionDep,
    agent_param_key,
    bool_param,
    get_and_head,
    iri_param,
    now_stored,
    only_params,
    parse_json,
    timestamp_param,
    uuid_param,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/xapi/statements", tags=["xapi"])

QUERY_PARAMS = {
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
}
SINGLE_PARAMS = {"statementId", "voidedStatementId", "format", "attachments"}


def _statement_body(request: Request, body: bytes) -> tuple[Any, tuple[Attachment, ...]]:
    content_type = request.headers.get("content-type", "application/json")
    if content_type.lower().startswith("multipart/mixed"):
        parts = parse_multipart(body, content_type)
        return parse_json(parts.statements), parts.attachments
    if not content_type.lower().startswith("application/json"):
        raise BadRequest("statements are sent as application/json or multipart/mixed")
    if not body.strip():
        raise BadRequest("the request body is empty")
    return parse_json(body), ()


def _store(
    services: Services,
    batch: list[Any],
    credential: Credential,
    version: str,
    attachments: tuple[Attachment, ...],
    statement_id: str | None,
) -> StoreResult:
    """Store in one write transaction; a race on a statement id (another writer won) is retried once,
    so the second request sees the stored statement and answers as the spec says (same → ok, else 409)."""

    def once() -> StoreResult:
        with services.writing() as session:
            return store_statements(
                session,
                services.ledger,
                batch,
                college_id=credential.college_id,
                authority=credential.authority,
                version=version,
                attachments=attachments,
                statement_id=statement_id,
            )

    try:
        return once()
    except (IntegrityError, DuplicateRecordError):
        logger.info("statement id race with another writer; retrying once")
    try:
        return once()
    except (IntegrityError, DuplicateRecordError) as exc:
        raise Conflict("a concurrent request stored the same statement id; retry") from exc


@router.put("", status_code=204)
def put_statement(
    request: Request, services: ServicesDep, credential: XapiKey, version: VersionDep, body: BodyDep
) -> Response:
    """Store one statement under the id given as `statementId` (204; 409 if the id holds another statement)."""
    only_params(request.query_params, {"statementId"})
    statement_id = uuid_param(request.query_params.get("statementId"), "statementId")
    if statement_id is None:
        raise BadRequest("PUT /statements needs the statementId parameter")
    statement, attachments = _statement_body(request, body)
    _store(services, [statement], credential, version, attachments, statement_id)
    return Response(status_code=204)


@router.post("")
def post_statements(
    request: Request, services: ServicesDep, credential: XapiKey, version: VersionDep, body: BodyDep
) -> JSONResponse:
    """Store one statement or a batch; returns their ids in order (a repeated id with the same statement is a no-op)."""
    only_params(request.query_params, set())
    payload, attachments = _statement_body(request, body)
    batch = payload if isinstance(payload, list) else [payload]
    if not batch:
        raise BadRequest("an empty batch holds no statements")
    result = _store(services, batch, credential, version, attachments, None)
    logger.debug("stored %d of %d statements", result.created, len(batch))
    return JSONResponse(result.ids)


def _formatted(statement: dict[str, Any], fmt: str, request: Request) -> dict[str, Any]:
    if fmt == "ids":
        return ids_format(statement)
    if fmt == "canonical":
        header = request.headers.get("accept-language", "")
        languages = tuple(part.split(";")[0].strip() for part in header.split(",") if part.strip())
        return dict(canonical_format(statement, languages))
    return statement


def _respond(
    session: SessionDep,
    college_id: str,
    data: Any,
    statements: list[dict[str, Any]],
    with_attachments: bool,
    **headers: str,
) -> Response:
    encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    headers[CONSISTENT_THROUGH] = now_stored()
    if with_attachments:
        multipart = build_multipart(encoded, attachments_for(session, college_id, statements))
        return Response(multipart.content, media_type=multipart.content_type, headers=headers)
    return Response(encoded, media_type="application/json", headers=headers)


def _encode_more(query: StatementQuery, fmt: str, attachments: bool) -> str:
    token = json.dumps({"q": query.to_json(), "f": fmt, "a": attachments}, separators=(",", ":"))
    return base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def _decode_more(token: str) -> tuple[StatementQuery, str, bool]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return StatementQuery.from_json(data["q"]), str(data["f"]), bool(data["a"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest("the more token is not one this server issued") from exc


def _query_from_params(params: Any, page_size: int) -> StatementQuery:
    limit_text = params.get("limit", "0")
    if not limit_text.isdigit():
        raise BadRequest("limit must be a non-negative integer")
    limit = int(limit_text)
    return StatementQuery(
        agent_key=agent_param_key(params["agent"]) if "agent" in params else None,
        verb=iri_param(params.get("verb"), "verb", required=False),
        activity=iri_param(params.get("activity"), "activity", required=False),
        registration=uuid_param(params.get("registration"), "registration"),
        related_agents=bool_param(params.get("related_agents"), "related_agents"),
        related_activities=bool_param(params.get("related_activities"), "related_activities"),
        since=timestamp_param(params.get("since"), "since"),
        until=timestamp_param(params.get("until"), "until"),
        limit=min(limit, page_size) if limit > 0 else page_size,
        ascending=bool_param(params.get("ascending"), "ascending"),
    )


@get_and_head(router, "")
def get_statements(
    request: Request, services: ServicesDep, session: SessionDep, credential: XapiKey, _version: VersionDep
) -> Response:
    """One of the college's statements by `statementId`/`voidedStatementId`, or a filtered page with `more`."""
    college_id = credential.college_id
    params = request.query_params
    fmt = params.get("format", "exact")
    if fmt not in ("exact", "ids", "canonical"):
        raise BadRequest("format must be exact, ids or canonical")
    with_attachments = bool_param(params.get("attachments"), "attachments")
    single = {"statementId", "voidedStatementId"} & set(params)
    if single:
        only_params(params, SINGLE_PARAMS)
        if len(single) > 1:
            raise BadRequest("use statementId or voidedStatementId, not both")
        name = single.pop()
        statement_id = uuid_param(params[name], name) or ""
        found = get_statement(session, college_id, statement_id, voided=name == "voidedStatementId")
        if found is None:
            raise NotFound(f"no statement {statement_id}")
        formatted = _formatted(found, fmt, request)
        return _respond(session, college_id, formatted, [found], with_attachments, **{"Last-Modified": found["stored"]})
    if "more" in params:
        only_params(params, {"more"})
        query, fmt, with_attachments = _decode_more(params["more"])
    else:
        only_params(params, QUERY_PARAMS)
        query = _query_from_params(params, services.settings.query_limit)
    page = query_statements(session, college_id, query)
    more = ""
    if page.next_after is not None:
        more = "/xapi/statements?more=" + _encode_more(
            StatementQuery.from_json({**query.to_json(), "after": page.next_after}), fmt, with_attachments
        )
    result = {"statements": [_formatted(s, fmt, request) for s in page.statements], "more": more}
    return _respond(session, college_id, result, page.statements, with_attachments)
