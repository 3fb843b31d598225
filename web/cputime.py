"""Where this node's CPU goes, by thread: read from /proc at scrape time (Linux; elsewhere nothing).

The web process's threads are grouped by their Python names with the numbers taken out (aiortc's
`video-decoder` and `audio-decoder` of every session together, `live-writer`, `live-results`, the
event loop's `MainThread`, …). A live analysis process is split into its main thread (Python around the
models, conversions, dlib's identity embedding, the rules), mediapipe's graph threads (BlazeFace,
FaceMesh and Pose inference) and its other threads (the queues' feeders).
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_NUMBERS = re.compile(r"[-_ ]?\d+|\s*\(.*\)")


def stat_cpu_seconds(stat: Path) -> float | None:
    """utime + stime of a /proc stat file, in seconds (None once the thread is gone)."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def thread_name(name: str) -> str:
    """A thread's Python name without its numbers: the threads of every session doing one job share it."""
    return _NUMBERS.sub("", name) or "thread"


def own_threads() -> dict[str, float]:
    """CPU seconds of this process's living Python threads, summed by `thread_name`."""
    totals: dict[str, float] = {}
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        seconds = stat_cpu_seconds(Path(f"/proc/self/task/{thread.native_id}/stat"))
        if seconds is not None:
            name = thread_name(thread.name)
            totals[name] = totals.get(name, 0.0) + seconds
    return totals


def worker_parts(pid: int) -> dict[str, float]:
    """CPU seconds of a live analysis process: `analysis` (its main thread), `models` (mediapipe's graph
    threads) and `other` (its other threads)."""
    parts = {"analysis": 0.0, "models": 0.0, "other": 0.0}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return parts
    for task in tasks:
        seconds = stat_cpu_seconds(task / "stat")
        if seconds is None:
            continue
        try:
            comm = (task / "comm").read_text().strip()
        except OSError:
            continue
        part = "analysis" if task.name == str(pid) else "models" if comm.startswith("mediapipe") else "other"
        parts[part] += seconds
    return parts
