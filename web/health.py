"""Health checks for a load balancer: `/healthz` (the process answers), `/readyz` (it can serve requests: the
database answers; the analysis workers are reported, not required) and `/readyz/live` (it can hold live
sessions: the database answers). Neither needs a key; neither tells anything about a college.

Analysis is not part of readiness: uploads are queued in the database and run when the workers (a Ray
cluster, say) are back, on this node or another, so a node whose workers are away still serves and says
`degraded`. Nothing here waits on the workers: their state is read from what they last reported.

With `PROCTOR_EXPOSE_NODE=true` the answers (and every other answer, in `X-Proctor-Node`) name the node,
so an operator (and a test) can see where the load balancer sent a request; by default they do not.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.deps import Services, ServicesDep
from web.platform import PlatformDep

logger = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])

NODE_HEADER = "X-Proctor-Node"


def _named(services: Services, body: dict[str, Any]) -> dict[str, Any]:
    """`body`, with the node's name when the settings allow it out."""
    return {**body, "node": services.settings.node} if services.settings.expose_node else body


def _database(services: Services) -> str:
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means: do not send requests here
        logger.warning("readiness: the database does not answer: %s", exc)
        return "unreachable"
    return "ok"


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness: the process is up and its event loop answers."""
    return _named(request.state.services, {"status": "ok"})


@router.get(
    "/readyz", responses={503: {"description": "Not ready: the database is away (analysis away is only degraded)."}}
)
def readyz(services: ServicesDep, platform: PlatformDep) -> JSONResponse:
    """Readiness: the database answers a query (503 otherwise); the analysis workers are reported as `ok` or
    `unavailable` (then the node is `degraded`, still ready: uploads wait in the queue)."""
    checks = {"database": _database(services), "workers": "ok" if platform.worker.healthy() else "unavailable"}
    ready = checks["database"] == "ok"
    status = "not ready" if not ready else "ready" if checks["workers"] == "ok" else "degraded"
    return JSONResponse(_named(services, {"status": status, "checks": checks}), status_code=200 if ready else 503)


@router.get("/readyz/live", responses={503: {"description": "Not ready: the database is away."}})
def readyz_live(services: ServicesDep) -> JSONResponse:
    """Readiness for live sessions (the load balancer's check of their backend): the database answers. Live
    analysis runs in this node's own processes, so nothing else is needed."""
    checks = {"database": _database(services)}
    ready = checks["database"] == "ok"
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return JSONResponse(_named(services, body), status_code=200 if ready else 503)


class NodeHeader:
    """Adds `X-Proctor-Node: NAME` to every HTTP answer (pure ASGI, so streaming answers stay streaming)."""

    def __init__(self, app: ASGIApp, node: str) -> None:
        self.app = app
        self.value = node.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def named(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (NODE_HEADER.lower().encode(), self.value)]
            await send(message)

        await self.app(scope, receive, named)
