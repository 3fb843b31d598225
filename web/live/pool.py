"""The live analysis processes and the lanes that feed them.

Each worker process serves several sessions (its models loaded once). A session's lane sends its
frames with credits: at most `credits` frames wait in the worker for it; a newer frame replaces the
one waiting to be sent, which is dropped and counted (analysis falls behind by dropping, never by
queueing). Audio windows and controls are never dropped, and never overtake a frame. A worker that
dies is replaced and its sessions are reopened by whoever listens to `on_lost`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from proctor.live.messages import FrameDone, FromWorker, ToWorker, VideoIn
from proctor.live.worker import serve

logger = logging.getLogger(__name__)

FRAME_CREDITS = 2
HEALTH_EVERY_S = 1.0


@dataclass
class LaneStats:
    """What happened to a session's frames on the way to analysis."""

    sent: int = 0
    dropped: int = 0

    def add(self, other: LaneStats) -> None:
        self.sent += other.sent
        self.dropped += other.dropped


@dataclass
class Lane:
    """The path of one session's media to its worker process."""

    session_id: str
    worker: int
    _put: Callable[[ToWorker], None]
    credits: int = FRAME_CREDITS
    stats: LaneStats = field(default_factory=LaneStats)
    _in_flight: int = 0
    _waiting: VideoIn | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def video(self, frame: VideoIn) -> None:
        """Send a frame if the worker has room for it, else keep it as the next one (dropping the older)."""
        with self._lock:
            if self._in_flight < self.credits:
                self._in_flight += 1
                self.stats.sent += 1
                self._put(frame)
                return
            if self._waiting is not None:
                self.stats.dropped += 1
            self._waiting = frame

    def send(self, message: ToWorker) -> None:
        """Audio and controls: always sent, in order, after the frame waiting to be sent (which came first:
        a scan that begins or ends must not overtake a frame of before), so one frame more may be in flight."""
        with self._lock:
            if self._waiting is not None:
                frame, self._waiting = self._waiting, None
                self._in_flight += 1
                self.stats.sent += 1
                self._put(frame)
            self._put(message)

    def done(self) -> None:
        """The worker took a frame: send the waiting one, if any."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if self._waiting is not None and self._in_flight < self.credits:
                frame, self._waiting = self._waiting, None
                self._in_flight += 1
                self.stats.sent += 1
                self._put(frame)

    def reset(self, put: Callable[[ToWorker], None], worker: int) -> None:
        """The worker was replaced: nothing is in flight any more."""
        with self._lock:
            self._put, self.worker = put, worker
            self._in_flight, self._waiting = 0, None


def _closed(_message: ToWorker) -> None:
    """Where a lane sends once its pool is closed: nowhere."""


class LivePool:
    """`processes` live analysis workers, their lanes, and the thread that reads what they answer."""

    def __init__(
        self,
        processes: int,
        on_output: Callable[[FromWorker], None],
        on_lost: Callable[[list[str]], None] | None = None,
    ) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._outbox: Any = self._context.Queue()
        self._inboxes: list[Any] = []
        self._processes: list[Any] = []
        self._lanes: dict[str, Lane] = {}
        self._finished = LaneStats()  # frames of the lanes already forgotten
        self._lock = threading.Lock()
        self._on_output = on_output
        self._on_lost = on_lost
        self._stopping = threading.Event()
        for number in range(max(1, processes)):
            self._inboxes.append(self._context.Queue())
            self._processes.append(self._spawn(number))
        self._reader = threading.Thread(target=self._read, name="live-results", daemon=True)
        self._reader.start()
        self._health = threading.Thread(target=self._watch, name="live-health", daemon=True)
        self._health.start()

    def _spawn(self, number: int) -> Any:
        process = self._context.Process(
            target=serve, args=(self._inboxes[number], self._outbox, os.getpid()), name=f"live-{number}", daemon=True
        )
        process.start()
        return process

    def lane(self, session_id: str) -> Lane:
        """The session's lane (a new one on the least busy worker)."""
        with self._lock:
            lane = self._lanes.get(session_id)
            if lane is None:
                loads = [0] * len(self._processes)
                for existing in self._lanes.values():
                    loads[existing.worker] += 1
                worker = loads.index(min(loads))
                lane = self._lanes[session_id] = Lane(session_id, worker, self._inboxes[worker].put)
            return lane

    def forget(self, session_id: str) -> None:
        with self._lock:
            lane = self._lanes.pop(session_id, None)
            if lane is not None:
                self._finished.add(lane.stats)

    def totals(self) -> LaneStats:
        """Frames sent to analysis and dropped, over every session this pool has served."""
        with self._lock:
            total = LaneStats(self._finished.sent, self._finished.dropped)
            for lane in self._lanes.values():
                total.add(lane.stats)
        return total

    @property
    def processes(self) -> int:
        return len(self._processes)

    def pids(self) -> list[int]:
        """Process ids of the living worker processes."""
        return [process.pid for process in self._processes if process.is_alive() and process.pid is not None]

    def alive(self) -> int:
        """How many worker processes are running now."""
        return sum(1 for process in self._processes if process.is_alive())

    @property
    def sessions(self) -> int:
        with self._lock:
            return len(self._lanes)

    def stats(self, session_id: str) -> LaneStats | None:
        with self._lock:
            lane = self._lanes.get(session_id)
        return lane.stats if lane is not None else None

    def close(self) -> None:
        self._stopping.set()
        for inbox in self._inboxes:
            inbox.put(None)
        stopped = []
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
                stopped.append(process)
        self._outbox.put(None)
        self._reader.join(timeout=10)
        self._release({id(self._inboxes[self._processes.index(p)]) for p in stopped})

    def _release(self, abandoned: set[int]) -> None:
        """Close the queues and let go of them: their semaphores are unlinked now. Left for the exit handlers,
        they would leak ("leaked semaphore objects" from the resource tracker): uvicorn ends the process by
        raising SIGTERM again after its shutdown, and no exit handler runs then. `abandoned`: ids of queues
        whose worker was stopped (what waits in them is dropped rather than waited for)."""
        with self._lock:
            queues = [*self._inboxes, self._outbox]
            for lane in self._lanes.values():  # a session may still hold its lane: not the queue behind it
                lane.reset(_closed, lane.worker)
            self._inboxes, self._lanes = [], {}
            self._outbox = None
        for queue in queues:
            queue.close()
            if id(queue) in abandoned:
                queue.cancel_join_thread()
            else:
                queue.join_thread()
        queues.clear()

    def _read(self) -> None:
        while True:
            try:
                message = self._outbox.get()
            except (EOFError, OSError):
                return
            if message is None:
                return
            if isinstance(message, FrameDone):
                with self._lock:
                    lane = self._lanes.get(message.session_id)
                if lane is not None:
                    lane.done()
                continue
            try:
                self._on_output(message)
            except Exception:  # a bad handler must not stop the results of every other session
                logger.exception("handling %s failed", type(message).__name__)

    def _watch(self) -> None:
        while not self._stopping.wait(HEALTH_EVERY_S):
            for number, process in enumerate(self._processes):
                if process.is_alive() or self._stopping.is_set():
                    continue
                logger.error("live analysis process %d died (exit %s); starting a new one", number, process.exitcode)
                self._inboxes[number] = self._context.Queue()
                self._processes[number] = self._spawn(number)
                with self._lock:
                    lost = [lane for lane in self._lanes.values() if lane.worker == number]
                for lane in lost:
                    lane.reset(self._inboxes[number].put, number)
                if lost and self._on_lost is not None:
                    self._on_lost([lane.session_id for lane in lost])
