"""Worker processes follow their parent: when the process that started them dies, they exit too.

A killed server must not leave analysis processes working on (orphans) or waiting forever for work.
"""

from __future__ import annotations

import os
import threading
import time

PARENT_CHECK_S = 0.5
ORPHAN_EXIT_CODE = 3


def exit_with_parent(parent_pid: int, every_s: float = PARENT_CHECK_S) -> None:
    """In a worker process: a daemon thread ends the process as soon as `parent_pid` is no longer its parent."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(every_s)
        os._exit(ORPHAN_EXIT_CODE)  # the parent died: whatever ran here is re-queued when it starts again

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
