"""The xAPI State resource: documents per (activity, agent, optional registration, stateId)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response

from footprint.xapi.documents import DocumentScope
from web.auth import CredentialDep
from web.deps import BodyDep, ServicesDep
from web.routes.xapi import documents
from web.routes.xapi.common import VersionDep, agent_param_key, iri_param, only_params, uuid_param

router = APIRouter(prefix="/xapi/activities/state", tags=["xapi"])

PARAMS = {"activityId", "agent", "registration", "stateId"}


def _scope(request: Request, extra: frozenset[str] = frozenset()) -> tuple[DocumentScope, str | None]:
    params = request.query_params
    only_params(params, PARAMS | extra)
    scope = DocumentScope(
        "state",
        activity_id=iri_param(params.get("activityId"), "activityId") or "",
        agent_key=agent_param_key(params.get("agent")),
        registration=uuid_param(params.get("registration"), "registration") or "",
    )
    return scope, params.get("stateId")


@router.api_route("", methods=["GET", "HEAD"])
def get_state(request: Request, services: ServicesDep, _c: CredentialDep, _v: VersionDep) -> Response:
    """One state document by stateId, or the stateIds in scope (optionally `since`)."""
    scope, state_id = _scope(request, frozenset({"since"}))
    return documents.read(services, scope, state_id, request)


@router.put("", status_code=204)
def put_state(request: Request, services: ServicesDep, _c: CredentialDep, v: VersionDep, body: BodyDep) -> Response:
    """Store (replace) a state document; in xAPI 2.0 replacing an existing one needs If-Match."""
    scope, state_id = _scope(request)
    rule: Literal["never", "existing"] = "existing" if v.startswith("2") else "never"
    return documents.write(services, scope, state_id, request, body, merge=False, require_precondition=rule)


@router.post("", status_code=204)
def post_state(request: Request, services: ServicesDep, _c: CredentialDep, _v: VersionDep, body: BodyDep) -> Response:
    """Merge a JSON state document into the stored one (or store it)."""
    scope, state_id = _scope(request)
    return documents.write(services, scope, state_id, request, body, merge=True, require_precondition="never")


@router.delete("", status_code=204)
def delete_state(request: Request, services: ServicesDep, _c: CredentialDep, _v: VersionDep) -> Response:
    """Delete one state document, or all of them in scope when no stateId is given."""
    scope, state_id = _scope(request)
    return documents.remove(services, scope, state_id, request, allow_all=True)
