"""The platform served for real in tests: in a thread of the test process, or as `python -m web` in its own
process group (to be killed with SIGKILL, or to read what it logs)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn

from web.app import create_app
from web.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SERVER_KEY = "restart-test-key-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(
    data_dir: Path,
    port: int,
    key: str = SERVER_KEY,
    log: Path | None = None,
    verify: Path | None = None,
    **environment: str,
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m web` as an operator starts it (its output to `log` if given); killed with its workers at exit.
    With `verify` (the certificate it serves with PROCTOR_TLS_*) it is awaited over HTTPS, trusting that file."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")},
        "PROCTOR_DATA_DIR": str(data_dir),
        "PROCTOR_PORT": str(port),
        "PROCTOR_BOOTSTRAP_API_KEY": key,
        **environment,
    }
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(log.open("ab")) if log is not None else subprocess.DEVNULL
        process = subprocess.Popen(
            [sys.executable, "-m", "web"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if verify is None:
                        httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                    else:
                        httpx.get(f"https://127.0.0.1:{port}/docs", timeout=1, verify=trusting(verify))
                    break
                except httpx.HTTPError:
                    time.sleep(0.3)
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the whole group: server and analysis workers
            process.wait(timeout=30)


def trusting(cert_file: Path) -> ssl.SSLContext:
    """A client TLS context that trusts this one certificate (a self-signed server's)."""
    return ssl.create_default_context(cafile=str(cert_file))


class LiveServer:
    """The platform served by uvicorn in a thread of the test process, on a free loopback port."""

    def __init__(self, settings: Settings) -> None:
        self.port = settings.port
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="live-server", daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=60)
