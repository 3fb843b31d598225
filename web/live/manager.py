"""The live sessions this process serves: who holds which session, the analysis processes, the writer thread.

One `LiveSession` per exam session, found by the candidate's join token. Worker answers arrive on the
pool's reader thread and are handed to the event loop; database writes go through one writer thread,
in order (an event is stored open before it is stored closed), never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from aiortc import RTCConfiguration, RTCIceServer

from proctor.live.messages import FromWorker
from proctor.sessions.live import LiveRecords
from proctor.sessions.service import SessionService
from web.live.pool import LivePool
from web.live.session import LiveSession

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

for noisy in ("aioice", "aiortc"):
    logging.getLogger(noisy).setLevel(logging.WARNING)


class LiveManager:
    """Live sessions of this process; built in the app's lifespan (it needs the running event loop)."""

    def __init__(
        self,
        service: SessionService,
        processes: int,
        ice_servers: list[dict[str, Any]],
        node: str = "",
        terms: dict[str, str] | None = None,
    ) -> None:
        self.service = service
        self.node = node
        self.terms = dict(terms or {})
        """The versions of the proctoring terms the exam page shows, by language: a consent names one of them."""
        """The platform node holding these sessions (the load balancer pins each session to one node)."""
        self.records: LiveRecords = service.live
        self.ice_servers = ice_servers
        self.rtc_configuration = RTCConfiguration([RTCIceServer(**server) for server in ice_servers])
        self._loop = asyncio.get_running_loop()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="live-writer")
        self._sessions: dict[str, LiveSession] = {}
        self._joining = asyncio.Lock()
        self.pool = LivePool(processes, self._from_worker, self._lost)

    async def join(self, token: str) -> LiveSession:
        """The session this join token opens (TokenRefused / SessionGone from `LiveRecords.ticket`)."""
        ticket = await self.run(self.records.ticket, token)
        async with self._joining:
            session = self._sessions.get(ticket.session_id)
            if session is None:
                session = self._sessions[ticket.session_id] = LiveSession(self, ticket)
            return session

    def get(self, session_id: str) -> LiveSession | None:
        return self._sessions.get(session_id)

    def forget(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)
        self.pool.forget(session_id)

    @property
    def sessions(self) -> int:
        return len(self._sessions)

    @property
    def streams(self) -> int:
        return sum(1 for session in self._sessions.values() if session.peer is not None)

    def write(self, function: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> Future[Any]:
        """Run a database write on the writer thread, in submission order (fire and forget; failures logged)."""
        future = self._writer.submit(function, *args, **kwargs)
        future.add_done_callback(_log_failure)
        return future

    async def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a database call on the writer thread (after every earlier write) and wait for its result."""
        future = self._writer.submit(function, *args, **kwargs)
        return await asyncio.wrap_future(future)

    def receipt(self, session_id: str) -> dict[str, Any]:
        """What the candidate keeps: the session, and a signed checkpoint of the ledger holding its result."""
        store = self.service.store
        with store.write() as db:
            entry = store.ledger.entry_for(db, "proctoring_analysis", f"{session_id}/1")
            signed = store.ledger.checkpoint(db)
        return {
            "session_id": session_id,
            "result_leaf_index": entry.index if entry is not None else None,
            "checkpoint": {
                "tree_size": signed.checkpoint.tree_size,
                "root_hash": signed.checkpoint.root_hash.hex(),
                "note": signed.note,
            },
        }

    def _from_worker(self, message: FromWorker) -> None:
        """On the pool's reader thread: hand the message to the session on the event loop."""
        self._loop.call_soon_threadsafe(self._dispatch, message)

    def _dispatch(self, message: FromWorker) -> None:
        session = self._sessions.get(message.session_id)
        if session is None:
            logger.debug("a %s for session %s, which is not live here", type(message).__name__, message.session_id)
            return
        session.on_worker(message)

    def _lost(self, session_ids: list[str]) -> None:
        """On the pool's health thread: a worker died; its sessions start their analysis afresh."""

        def reopen() -> None:
            for session_id in session_ids:
                session = self._sessions.get(session_id)
                if session is not None:
                    asyncio.ensure_future(session.reopen())

        self._loop.call_soon_threadsafe(reopen)

    async def close(self) -> None:
        """Finish nothing (sessions resume after a restart); close connections, workers and the writer."""
        for session in list(self._sessions.values()):
            await session.shutdown()
        await asyncio.get_running_loop().run_in_executor(None, self.pool.close)
        self._writer.shutdown(wait=True)


def _log_failure(future: Future[Any]) -> None:
    if not future.cancelled() and (error := future.exception()) is not None:
        logger.error("a live session write failed", exc_info=error)
