"""Shared handling of the document resources (State, Activity Profile, Agent Profile).

Each resource turns its parameters into a `DocumentScope`; these helpers do the rest: GET one
document or the list of ids, PUT/POST with concurrency checks, DELETE.
"""

from __future__ import annotations

from typing import Literal

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from footprint.xapi.documents import (
    DocumentScope,
    Preconditions,
    delete_document,
    document_ids,
    get_document,
    save_document,
)
from footprint.xapi.errors import BadRequest, NotFound
from web.deps import Services
from web.routes.xapi.common import timestamp_param


def _etags(header: str | None) -> tuple[str, ...]:
    if header is None:
        return ()
    return tuple(tag.strip().removeprefix("W/").strip('"') for tag in header.split(",") if tag.strip())


def preconditions(request: Request) -> Preconditions:
    """If-Match / If-None-Match of a request."""
    return Preconditions(_etags(request.headers.get("if-match")), _etags(request.headers.get("if-none-match")))


def read(services: Services, scope: DocumentScope, document_id: str | None, request: Request) -> Response:
    """GET: the document (with ETag and Last-Modified), or the ids in scope when no id is given."""
    with services.sessions() as session:
        if document_id is None:
            since = timestamp_param(request.query_params.get("since"), "since")
            return JSONResponse(document_ids(session, scope, since))
        document = get_document(session, scope, document_id)
    if document is None:
        raise NotFound(f"no document {document_id!r}")
    return Response(
        document.content,
        media_type=document.content_type,
        headers={"ETag": f'"{document.etag}"', "Last-Modified": document.updated},
    )


def write(
    services: Services,
    scope: DocumentScope,
    document_id: str | None,
    request: Request,
    body: bytes,
    *,
    merge: bool,
    require_precondition: Literal["never", "existing", "always"],
) -> Response:
    """PUT (replace) or POST (merge JSON) one document; 204 with the new ETag."""
    if document_id is None:
        raise BadRequest("the document id parameter is required")
    content_type = request.headers.get("content-type", "application/octet-stream")
    with services.writing() as session:
        document = save_document(
            session,
            scope,
            document_id,
            body,
            content_type,
            preconditions(request),
            merge=merge,
            require_precondition=require_precondition,
        )
    return Response(status_code=204, headers={"ETag": f'"{document.etag}"'})


def remove(
    services: Services, scope: DocumentScope, document_id: str | None, request: Request, *, allow_all: bool
) -> Response:
    """DELETE one document, or every document in scope where the resource allows it (State)."""
    if document_id is None and not allow_all:
        raise BadRequest("the document id parameter is required")
    with services.writing() as session:
        delete_document(session, scope, document_id, preconditions(request))
    return Response(status_code=204)
