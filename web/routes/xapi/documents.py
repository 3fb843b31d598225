"""The document resources: State, Activity Profile and Agent Profile.

Each resource turns its parameters into a `DocumentScope` and a document id; shared helpers do
the rest: GET one document or the list of ids, PUT/POST with concurrency checks, DELETE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, Request, Response
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
from web.auth import XapiKey
from web.deps import BodyDep, Services, ServicesDep
from web.routes.xapi.common import (
    VersionDep,
    agent_param_key,
    get_and_head,
    iri_param,
    only_params,
    timestamp_param,
    uuid_param,
)

Precondition = Literal["never", "existing", "always"]


@dataclass(frozen=True)
class Target:
    """The documents a request is about, and the one document id when it names one."""

    scope: DocumentScope
    document_id: str | None


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
    require_precondition: Precondition,
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


def _state(request: Request, college_id: str, listing: bool = False) -> Target:
    params = request.query_params
    only_params(params, {"activityId", "agent", "registration", "stateId"} | ({"since"} if listing else set()))
    scope = DocumentScope(
        college_id,
        "state",
        activity_id=iri_param(params.get("activityId"), "activityId") or "",
        agent_key=agent_param_key(params.get("agent")),
        registration=uuid_param(params.get("registration"), "registration") or "",
    )
    return Target(scope, params.get("stateId"))


def _activity_profile(request: Request, college_id: str, listing: bool = False) -> Target:
    params = request.query_params
    only_params(params, {"activityId", "profileId"} | ({"since"} if listing else set()))
    activity_id = iri_param(params.get("activityId"), "activityId") or ""
    return Target(DocumentScope(college_id, "activity_profile", activity_id=activity_id), params.get("profileId"))


def _agent_profile(request: Request, college_id: str, listing: bool = False) -> Target:
    params = request.query_params
    only_params(params, {"agent", "profileId"} | ({"since"} if listing else set()))
    scope = DocumentScope(college_id, "agent_profile", agent_key=agent_param_key(params.get("agent")))
    return Target(scope, params.get("profileId"))


def document_router(
    prefix: str, name: str, parse: Callable[..., Target], put_rule: Callable[[str], Precondition], delete_all: bool
) -> APIRouter:
    """The four endpoints of one document resource."""
    router = APIRouter(prefix=prefix, tags=["xapi"])

    @get_and_head(router, "", name=f"get_{name}")
    def get_document(request: Request, services: ServicesDep, credential: XapiKey, _v: VersionDep) -> Response:
        """One document by its id, or the ids of the documents in scope (optionally `since`)."""
        target = parse(request, credential.college_id, listing=True)
        return read(services, target.scope, target.document_id, request)

    @router.put("", status_code=204, name=f"put_{name}")
    def put_document(
        request: Request, services: ServicesDep, credential: XapiKey, version: VersionDep, body: BodyDep
    ) -> Response:
        """Store (replace) a document, under the resource's concurrency rule."""
        target = parse(request, credential.college_id)
        rule = put_rule(version)
        return write(services, target.scope, target.document_id, request, body, merge=False, require_precondition=rule)

    @router.post("", status_code=204, name=f"post_{name}")
    def post_document(
        request: Request, services: ServicesDep, credential: XapiKey, _v: VersionDep, body: BodyDep
    ) -> Response:
        """Merge a JSON document into the stored one (or store it)."""
        target = parse(request, credential.college_id)
        return write(
            services, target.scope, target.document_id, request, body, merge=True, require_precondition="never"
        )

    @router.delete("", status_code=204, name=f"delete_{name}")
    def delete_document(request: Request, services: ServicesDep, credential: XapiKey, _v: VersionDep) -> Response:
        """Delete a document (State: every document in scope when no stateId is given)."""
        target = parse(request, credential.college_id)
        return remove(services, target.scope, target.document_id, request, allow_all=delete_all)

    return router


def _state_rule(version: str) -> Precondition:
    # xAPI 2.0 protects an existing state document from blind overwrites; 1.0.3 does not ask it.
    return "existing" if version.startswith("2") else "never"


def _profile_rule(_version: str) -> Precondition:
    return "always"


state_router = document_router("/xapi/activities/state", "state", _state, _state_rule, delete_all=True)
activity_profile_router = document_router(
    "/xapi/activities/profile", "activity_profile", _activity_profile, _profile_rule, delete_all=False
)
agent_profile_router = document_router(
    "/xapi/agents/profile", "agent_profile", _agent_profile, _profile_rule, delete_all=False
)
