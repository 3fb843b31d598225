"""Health checks for a load balancer: `/healthz` (the process answers) and `/readyz` (it can serve: the
database answers and the analysis workers are there). Neither needs a key; neither tells anything about
a college. Every answer of the platform names the node that gave it (`X-Proctor-Node`), so an operator
(and a test) can see where the load balancer sent a request.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.deps import ServicesDep
from web.platform import PlatformDep

logger = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])

NODE_HEADER = "X-Proctor-Node"


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, str]:
    """Liveness: the process is up and its event loop answers."""
    services = request.state.services
    return {"status": "ok", "node": services.settings.node}


@router.get("/readyz", responses={503: {"description": "Not ready: the database or the workers are away."}})
def readyz(services: ServicesDep, platform: PlatformDep) -> JSONResponse:
    """Readiness: the database answers a query and the analysis workers can take jobs (503 otherwise)."""
    checks: dict[str, str] = {}
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means: do not send requests here
        logger.warning("readiness: the database does not answer: %s", exc)
        checks["database"] = "unreachable"
    checks["workers"] = "ok" if platform.worker.healthy() else "unavailable"
    ready = all(value == "ok" for value in checks.values())
    body = {"status": "ready" if ready else "not ready", "node": services.settings.node, "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


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
