"""The xAPI Agent Profile resource: documents per (agent, profileId)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from footprint.xapi.documents import DocumentScope
from web.auth import CredentialDep
from web.deps import BodyDep, ServicesDep
from web.routes.xapi import documents
from web.routes.xapi.common import VersionDep, agent_param_key, only_params

router = APIRouter(prefix="/xapi/agents/profile", tags=["xapi"])


def _scope(request: Request, extra: frozenset[str] = frozenset()) -> tuple[DocumentScope, str | None]:
    params = request.query_params
    only_params(params, {"agent", "profileId"} | extra)
    scope = DocumentScope("agent_profile", agent_key=agent_param_key(params.get("agent")))
    return scope, params.get("profileId")


@router.api_route("", methods=["GET", "HEAD"])
def get_agent_profile(request: Request, services: ServicesDep, _c: CredentialDep, _v: VersionDep) -> Response:
    """One agent profile document, or the profileIds of the agent (optionally `since`)."""
    scope, profile_id = _scope(request, frozenset({"since"}))
    return documents.read(services, scope, profile_id, request)


@router.put("", status_code=204)
def put_agent_profile(
    request: Request, services: ServicesDep, _c: CredentialDep, _v: VersionDep, body: BodyDep
) -> Response:
    """Store (replace) an agent profile document; an existing one needs If-Match or If-None-Match."""
    scope, profile_id = _scope(request)
    return documents.write(services, scope, profile_id, request, body, merge=False, require_precondition="always")


@router.post("", status_code=204)
def post_agent_profile(
    request: Request, services: ServicesDep, _c: CredentialDep, _v: VersionDep, body: BodyDep
) -> Response:
    """Merge a JSON agent profile document into the stored one (or store it)."""
    scope, profile_id = _scope(request)
    return documents.write(services, scope, profile_id, request, body, merge=True, require_precondition="never")


@router.delete("", status_code=204)
def delete_agent_profile(request: Request, services: ServicesDep, _c: CredentialDep, _v: VersionDep) -> Response:
    """Delete an agent profile document."""
    scope, profile_id = _scope(request)
    return documents.remove(services, scope, profile_id, request, allow_all=False)
