"""Where the node's CPU goes: its threads grouped by job, a live worker split into its parts (from /proc)."""

from __future__ import annotations

import os
import threading
import time

from web.cputime import own_threads, thread_name, worker_parts


def test_threads_of_one_job_share_a_name_without_their_numbers() -> None:
    assert thread_name("live-writer_0") == "live-writer"
    assert thread_name("Thread-12 (worker)") == "Thread"
    assert thread_name("analysis-3") == "analysis"
    assert thread_name("video-decoder") == "video-decoder"
    assert thread_name("MainThread") == "MainThread"


def test_a_busy_thread_shows_under_its_name() -> None:
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():  # busy until the test has seen its CPU
            pass

    busy = threading.Thread(target=spin, name="spinner-7")
    busy.start()
    try:
        while own_threads().get("spinner", 0.0) < 0.02:
            time.sleep(0.01)
    finally:
        stop.set()
        busy.join()
    assert "spinner" not in own_threads()  # gone with its thread


def test_a_process_splits_into_its_main_thread_and_the_rest() -> None:
    parts = worker_parts(os.getpid())
    assert set(parts) == {"analysis", "models", "other"}
    assert parts["analysis"] > 0  # this test's own main thread
    assert worker_parts(2**22 + 1) == {"analysis": 0.0, "models": 0.0, "other": 0.0}  # no such process
