"""Native libraries (TensorFlow Lite, absl inside mediapipe) write their own notices straight to file
descriptor 2 on every model start; they mean nothing to a user. This moves them out of the way while
everything Python writes (messages, logging, progress bars) still reaches the real stderr."""

from __future__ import annotations

import io
import os
import sys


def silence_native_stderr() -> None:
    """Point fd 2 at /dev/null and keep `sys.stderr` on a duplicate of the original stream (once per process)."""
    if getattr(sys.stderr, "_proctor_kept", False):
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
