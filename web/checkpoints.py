"""The background task that signs a checkpoint every interval while the ledger grows.

The signing and the database work run in a worker thread; the event loop only sleeps and waits. With
several platform nodes on one database every node runs the loop, and one at a time signs (an advisory
lock, see web/once.py): the others skip the round.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from footprint.ledger import SignedCheckpoint
from web.deps import Services
from web.once import on_one_node

logger = logging.getLogger(__name__)


def checkpoint_if_grown(services: Services) -> SignedCheckpoint | None:
    """Sign a checkpoint if entries arrived since the latest one; None when nothing changed (or another node
    is signing now)."""
    with on_one_node(services.engine, "checkpoint") as mine:
        if not mine:
            return None
        with services.sessions() as session:
            size = services.ledger.size(session)
            latest = services.ledger.latest_checkpoint(session)
        if latest is not None and latest.checkpoint.tree_size == size:
            return None
        with services.writing() as session:
            return services.ledger.checkpoint(session, signed_by=services.settings.node)


async def checkpoint_loop(services: Services, interval_s: float) -> None:
    """Run forever (until cancelled): every `interval_s`, checkpoint the ledger if it grew."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            signed = await run_in_threadpool(checkpoint_if_grown, services)
        except Exception:  # a failed round must not stop the next one
            logger.exception("checkpoint round failed")
            continue
        if signed is not None:
            logger.info(
                "checkpoint at tree size %d signed by node %s", signed.checkpoint.tree_size, services.settings.node
            )
