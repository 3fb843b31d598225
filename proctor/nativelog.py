"""Native libraries (TensorFlow Lite, absl inside mediapipe) write their own notices straight to file
descriptor 2 on every model start; they mean nothing to a user. This moves them out of the way while
everything Python writes (messages, logging, progress bars) still reaches the real stderr.

The command line, the server (`python -m web`), its analysis and live worker processes, the Ray analysis
actors and every benchmark keep this noise off by default. To see it again while debugging a model, set
`PROCTOR_NATIVE_LOGS=1` (inherited by the worker processes): nothing is then silenced or filtered.
"""

from __future__ import annotations

import io
import os
import sys
import warnings
from multiprocessing import resource_tracker

NATIVE_LOGS_ENV = "PROCTOR_NATIVE_LOGS"
"""Set to 1 (true, yes, on) to keep the native libraries' notices on stderr, for debugging."""


def native_logs_wanted() -> bool:
    """Whether `PROCTOR_NATIVE_LOGS` asks for the native notices."""
    return os.environ.get(NATIVE_LOGS_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def quiet_native_noise(*, keep_tracker: bool = False) -> bool:
    """Keep the native notices (TensorFlow Lite, absl/glog) and protobuf's deprecation notices off stderr, unless
    `PROCTOR_NATIVE_LOGS` asks for them; whether it did. `keep_tracker`: start multiprocessing's resource tracker
    first, on the real stderr, so a process that leaks a semaphore still hears about it (the tracker is a
    process of its own that would otherwise inherit the silenced fd 2)."""
    if native_logs_wanted():
        return False
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", module="google.protobuf")
    if keep_tracker:
        resource_tracker.ensure_running()
    silence_native_stderr()
    return True


def silence_native_stderr() -> None:
    """Point fd 2 at /dev/null and keep `sys.stderr` on a duplicate of the original stream (once per process;
    nothing when `PROCTOR_NATIVE_LOGS` asks for the native notices)."""
    if getattr(sys.stderr, "_proctor_kept", False) or native_logs_wanted():
        return
    try:
        sys.stderr.flush()
        kept = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:  # no real fd 2 (embedded, some test runners): nothing to do
        return
    stream = io.TextIOWrapper(
        os.fdopen(kept, "wb", buffering=0), encoding="utf-8", errors="replace", write_through=True
    )
    stream._proctor_kept = True  # type: ignore[attr-defined]
    sys.stderr = stream
