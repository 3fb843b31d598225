"""The app factory: settings → services (migrated DB, ledger key, demo college) → routes and middleware."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from footprint import accounts
from footprint.people import sync_demo_people
from footprint.signins import end_sign_ins
from proctor.outbound import OutboundPolicy
from web import health, help, metrics, redaction
from web.checkpoints import checkpoint_loop
from web.commands import command
from web.deps import Services
from web.desk import actions, login, material, media, pages, people, protocol, trail
from web.desk.errors import install_desk_handlers
from web.errors import install_error_handlers
from web.headers import FramingOrigins, SecurityHeaders
from web.health import NodeHeader
from web.limits import JSONBodyLimits
from web.live import routes as live_routes
from web.live.manager import LiveManager
from web.live.pinning import PinCookie
from web.lti import desk as lti_desk
from web.lti import routes as lti_routes
from web.lti.tool import LtiTool, lti_loop
from web.pages import footprint as footprint_pages
from web.pages import side, student
from web.pages.terms import served_terms
from web.platform import (
    install_session_error_handlers,
    retention_loop,
    retention_round,
    seal_loop,
    start_platform,
)
from web.routes import college, footprint, ledger
from web.routes.xapi import resources, statements
from web.routes.xapi.alternate import AlternateSyntax
from web.routes.xapi.common import PREFIX, XAPIHeaders
from web.routes.xapi.documents import activity_profile_router, agent_profile_router, state_router
from web.services import build_services
from web.settings import Settings, load_settings
from web.urls import PublicRedirects

logger = logging.getLogger(__name__)


def settle_bootstrap(services: Services) -> None:
    """At the server's start: the demo key and the demo admin (whose password it is) work only while the server is
    started with `PROCTOR_BOOTSTRAP_API_KEY` set to that key; otherwise they are revoked and disabled. Logs what
    credentials work now, truthfully."""
    key = services.settings.bootstrap_api_key
    for attempt in (1, 2):  # nodes starting together: one creates the demo college, the other finds it
        try:
            with services.writing() as session:
                if key:
                    credential = accounts.bootstrap(session, key)
                    retired = 0
                else:
                    retired = accounts.retire_bootstrap(session)
                disabled = sync_demo_people(session, key)
                for person in disabled:
                    end_sign_ins(session, person.id)
                active = accounts.active_keys(session)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    if key:
        logger.info(
            "the demo key (PROCTOR_BOOTSTRAP_API_KEY) belongs to %s (%s); it works while the server is started with it",
            credential.college_name,
            credential.college_id,
        )
    elif retired:
        logger.warning("no PROCTOR_BOOTSTRAP_API_KEY: the demo key is revoked")
    for person in disabled:
        logger.warning("the demo admin %s is disabled: its password was the demo key", person.email)
    if active:
        logger.info("%d API key(s) work; list them with: %s", active, command("keys list"))
    else:
        logger.warning(
            "no API key works: issue one with: %s",
            command('keys issue "My College" lms --scopes xapi,sessions --new-college'),
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The FastAPI app; settings default to the environment (`PROCTOR_*`)."""
    config = settings or load_settings()
    redaction.install()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        services = await run_in_threadpool(build_services, config)
        await run_in_threadpool(settle_bootstrap, services)
        platform = await run_in_threadpool(start_platform, services)
        # the first retention round runs before the server answers: nothing past retention is ever served
        await run_in_threadpool(retention_round, platform)
        shown = config.node if config.expose_node else ""  # the node's name goes out only when asked for
        terms = served_terms(config.retention_days, config.privacy_contact)
        live = LiveManager(platform.service, config.live_workers, config.ice_server_list, node=shown, terms=terms)
        lti = LtiTool(services, OutboundPolicy(config.outbound_networks))
        await run_in_threadpool(lti.frames.refresh, services)
        frames.source = lti.frames
        task = asyncio.create_task(checkpoint_loop(services, config.checkpoint_interval_s))
        retention = asyncio.create_task(retention_loop(platform))
        sealing = asyncio.create_task(seal_loop(platform))
        grading = asyncio.create_task(lti_loop(lti))
        try:
            registry = metrics.build_registry(live, services, platform)
            state = {"services": services, "platform": platform, "live": live, "metrics": registry, "lti": lti}
            yield state
        finally:
            await live.close()
            for loop in (retention, sealing, grading):
                loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop
            await run_in_threadpool(platform.close)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            services.engine.dispose()

    # Swagger UI and ReDoc from assets the platform serves itself: the docs work on an offline network.
    app = FastAPIOffline(
        title="proctor.kz platform",
        summary="College API for proctored exams, and an xAPI 1.0.3 / 2.0.0 learning record store whose "
        "statements are provable in a signed Merkle log. Authorize with your college's API key.",
        version="0.1.0",
        lifespan=lifespan,
        static_url="/static/api-docs",
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
    )
    install_error_handlers(app)
    install_session_error_handlers(app)
    install_desk_handlers(app)
    app.include_router(college.router)
    app.include_router(footprint.router)
    app.include_router(footprint_pages.router)
    for router in (statements.router, state_router, activity_profile_router, agent_profile_router):
        app.include_router(router)
    app.include_router(resources.router)
    app.include_router(ledger.router)
    app.include_router(live_routes.router)
    app.include_router(lti_routes.router)
    app.include_router(lti_routes.api)
    app.include_router(lti_desk.router)
    app.include_router(metrics.router)
    app.include_router(health.router)
    app.include_router(student.router)
    app.include_router(side.router)  # the phone's page of the side camera
    app.include_router(help.router)  # the guides of docs/ at /help, rendered offline
    desk_routers = (login.router, pages.router, actions.router, media.router, protocol.router, people.router)
    for desk_router in (*desk_routers, material.router, trail.router):
        app.include_router(desk_router)
    app.mount("/assets", StaticFiles(directory=student.STATIC), name="assets")
    app.add_middleware(JSONBodyLimits, max_body=config.max_upload_bytes, skip_prefix=PREFIX)
    app.add_middleware(AlternateSyntax, max_body=config.max_upload_bytes)
    app.add_middleware(XAPIHeaders, default_version=config.xapi_default_version)
    frames = FramingOrigins()
    app.add_middleware(SecurityHeaders, https_public_url=config.base_url.startswith("https://"), framing=frames)
    app.add_middleware(PublicRedirects, base_url=config.base_url)
    app.add_middleware(PinCookie, secure=config.base_url.startswith("https://"))  # keeps live sessions on their node
    if config.expose_node:
        app.add_middleware(NodeHeader, node=config.node)
    return app
