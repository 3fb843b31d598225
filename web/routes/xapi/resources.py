"""The small xAPI resources: About, Activities (definitions seen) and Agents (Person objects)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from footprint.xapi.checks import IFIS
from footprint.xapi.queries import activity_definition
from web.auth import XapiKey
from web.deps import SessionDep
from web.routes.xapi.common import VersionDep, agent_param, get_and_head, iri_param, only_params

router = APIRouter(prefix="/xapi", tags=["xapi"])


@get_and_head(router, "/about")
def about() -> JSONResponse:
    """The xAPI versions this LRS speaks (no credentials needed)."""
    return JSONResponse({"version": ["1.0.3", "2.0.0"], "extensions": {}})


@get_and_head(router, "/activities")
def get_activity(request: Request, session: SessionDep, credential: XapiKey, _v: VersionDep) -> JSONResponse:
    """The Activity object with the latest definition the college's statements gave `activityId`."""
    only_params(request.query_params, {"activityId"})
    activity_id = iri_param(request.query_params.get("activityId"), "activityId") or ""
    activity: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    definition = activity_definition(session, credential.college_id, activity_id)
    if definition:
        activity["definition"] = definition
    return JSONResponse(activity)


@get_and_head(router, "/agents")
def get_person(request: Request, _c: XapiKey, _v: VersionDep) -> JSONResponse:
    """The Person object of an agent: every identifier and name known for it (here: those given)."""
    only_params(request.query_params, {"agent"})
    agent = agent_param(request.query_params.get("agent")) or {}
    person: dict[str, Any] = {"objectType": "Person"}
    if "name" in agent:
        person["name"] = [agent["name"]]
    for ifi in IFIS:
        if ifi in agent:
            person[ifi] = [agent[ifi]]
    return JSONResponse(person)
