"""Starting and stopping the cluster's processes: each in its own process group, its output in a log file,
stopped by its own id (never by name)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
"""The processes this process started, kept until they are stopped (and reaped)."""


def write_secret(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only (from the first byte on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as output:
        output.write(text)
    path.chmod(0o600)


SERVICE_PORTS = (20000, 32768)
"""Where the cluster's services listen: above Ray's worker ports (10002–19999) and below the kernel's
ephemeral ports, which anything binding port 0 may take — a Ray worker's gRPC server, say, on the port of a
platform node that just died, where HAProxy would then send requests (and get garbage back)."""


def _ephemeral_start() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    return 32768


def service_port() -> int:
    """A TCP port free on loopback now, outside the ephemeral range: nothing takes it while its service is down."""
    low, high = SERVICE_PORTS[0], min(SERVICE_PORTS[1], _ephemeral_start())
    for _ in range(200):
        port = secrets.randbelow(high - low) + low
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free TCP port between {low} and {high} on loopback")


def spawn(
    command: Sequence[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None, append: bool = False
) -> int:
    """Start `command` in a new process group with its output in `log` (a fresh log unless `append`); its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab" if append else "wb") as output:
        process = subprocess.Popen(
            list(command), cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    _CHILDREN[process.pid] = process
    return process.pid


def alive(pid: int) -> bool:
    """Running (a zombie that has exited but was not reaped is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def reap(pid: int) -> None:
    """Collect the exit status of a child of this process (no-op for others)."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _CHILDREN[pid]
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop_group(pid: int, grace_s: float = 20.0) -> None:
    """SIGTERM the process `pid` (it may clean up its children), then SIGKILL its whole process group."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while alive(pid) and time.monotonic() < deadline:
        reap(pid)
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # the group started with the process (start_new_session): pgid == pid
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        child.wait(timeout=30)
    reap(pid)


def wait_until(
    check: Callable[[], bool], timeout_s: float, what: str, pid: int | None = None, log: Path | None = None
) -> None:
    """Poll `check` until it holds; RuntimeError (with the log's tail) after `timeout_s` or if `pid` died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if pid is not None and not alive(pid):
            break
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    raise RuntimeError(f"{what} did not come up\n{tail}")


def answers(url: str, status: int = 200) -> Callable[[], bool]:
    """A check that `url` answers with `status`."""

    def check() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == status
        except httpx.HTTPError:
            return False

    return check
