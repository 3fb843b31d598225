"""The load balancer's configuration (deploy/haproxy.cfg.in, Debian's HAProxy) in front of two stand-in nodes:
HTTP servers that answer the health checks as a platform node does and say which of them answered.

What HAProxy itself must do: keep the nodes' names and /metrics from the outside; send again only a request
that could not be sent at all (a request a node received may have been carried out: never replayed); route
every request of a live session to one node by its pin, made as the platform makes it; move a session only
when its node is down for live sessions — not when its analysis is away — and not back when that node
returns (a flapping node does not bounce sessions)."""

from __future__ import annotations

import json
import secrets
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.cluster import Process, haproxy_config
from deploy.processes import answers, service_port, spawn, stop_group, wait_until
from web.live.pinning import PIN_COOKIE, pin_of

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="needs Debian's haproxy (make system-deps)")

CHECKS_S = 40.0
"""Bound on waiting for HAProxy's health checks (three failed or good checks 2 s apart) to take effect."""


@dataclass
class StandIn:
    """A stand-in platform node: its health answers can be switched, and it counts what it received."""

    name: str
    ready: bool = True
    ready_for_live: bool = True
    received: Counter[tuple[str, str]] = field(default_factory=Counter)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def start(self) -> None:
        node = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                path = self.path.split("?", 1)[0]
                if path in ("/readyz", "/readyz/live"):
                    ok = node.ready if path == "/readyz" else node.ready_for_live
                    self._send(200 if ok else 503, {"status": "ready" if ok else "not ready"})
                    return
                node.received[(self.command, path)] += 1
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                if path == "/crash":  # the node dies while it handles the request: no answer at all
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self._send(200, {"node": node.name}, {"X-Proctor-Node": node.name})

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {**(headers or {}), "Content-Type": "application/json"}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _answer  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """The node is gone: nothing listens on its port any more."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class Balancer:
    url: str
    nodes: dict[str, StandIn]


@pytest.fixture
def balancer(tmp_path: Path) -> Iterator[Balancer]:
    nodes = {name: StandIn(name) for name in ("node-1", "node-2")}
    for node in nodes.values():
        node.start()
    port = service_port()
    servers = [Process(name, 0, "", node.port) for name, node in nodes.items()]
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(f"127.0.0.1:{port}", servers, metrics_from=(), expose_node=False))
    log = tmp_path / "haproxy.log"
    pid = spawn([shutil.which("haproxy") or "haproxy", "-db", "-f", str(config)], log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(answers(f"{url}/healthz"), 30, "HAProxy", pid, log)
        yield Balancer(url, nodes)
    finally:
        stop_group(pid, grace_s=5)
        for node in nodes.values():
            node.stop()


def served_by(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    return str(answer.json()["node"])


def once(method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request on a connection of its own (the first request of a client's connection: HAProxy never sends
    it over a connection to a node kept from earlier requests)."""
    with httpx.Client(timeout=10) as client:
        return client.request(method, url, **kwargs)


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + CHECKS_S
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {CHECKS_S:.0f} s")


def test_names_of_nodes_and_the_metrics_stay_inside(balancer: Balancer) -> None:
    answer = once("GET", f"{balancer.url}/api/v1/exams")
    assert answer.status_code == 200 and "x-proctor-node" not in answer.headers
    for path in ("/metrics", "/metrics/", "//metrics", "/%6Detrics", "/metrics?format=text"):
        assert once("GET", balancer.url + path).status_code == 403, path
    assert not any(path.endswith("metrics") for node in balancer.nodes.values() for _, path in node.received)


def test_a_request_a_node_received_is_never_sent_again(balancer: Balancer) -> None:
    failed = once("POST", f"{balancer.url}/crash", json={"verdict": "confirmed"})
    assert failed.status_code == 502  # the client hears of the failure and decides
    assert sum(node.received[("POST", "/crash")] for node in balancer.nodes.values()) == 1


def test_a_request_that_could_not_be_sent_goes_to_the_other_node(balancer: Balancer) -> None:
    balancer.nodes["node-1"].stop()  # before the health checks notice: connections to it are refused
    answers = [served_by(once("POST", f"{balancer.url}/api/v1/exams", json={"title": f"E{n}"})) for n in range(6)]
    assert answers == ["node-2"] * 6
    assert balancer.nodes["node-2"].received[("POST", "/api/v1/exams")] == 6  # each once


def live_node(balancer: Balancer, token: str, way: str) -> str:
    """The node that answers a live request of the session of `token`, sent `way`."""
    url = balancer.url
    if way == "page":
        return served_by(once("GET", f"{url}/join/{token}"))
    if way == "bearer":
        return served_by(once("POST", f"{url}/live/offer", headers={"Authorization": f"Bearer {token}"}))
    if way == "query":
        return served_by(once("GET", f"{url}/live/ws?pin={pin_of(token)}"))
    return served_by(once("GET", f"{url}/live/ws", headers={"Cookie": f"{PIN_COOKIE}={pin_of(token)}"}))


def test_every_live_request_of_a_session_goes_to_one_node(balancer: Balancer) -> None:
    seen: set[str] = set()
    for _ in range(12):
        token = secrets.token_urlsafe(24)
        nodes = {way: live_node(balancer, token, way) for way in ("page", "bearer", "query", "cookie")}
        assert len(set(nodes.values())) == 1, nodes  # HAProxy makes the pin as the platform does
        seen |= set(nodes.values())
    assert seen == {"node-1", "node-2"}  # the sessions are spread over both nodes


def test_a_live_session_moves_only_when_its_node_cannot_hold_it_and_does_not_move_back(balancer: Balancer) -> None:
    first, second = balancer.nodes["node-1"], balancer.nodes["node-2"]
    token = next(
        t for t in (secrets.token_urlsafe(24) for _ in range(64)) if live_node(balancer, t, "page") == "node-1"
    )

    first.ready = False  # its analysis (or anything but the database) is away: ordinary requests leave it …

    def only_node_2() -> bool:  # round robin would alternate: four in a row means node-1 is out
        return {served_by(once("GET", f"{balancer.url}/api/v1/exams")) for _ in range(4)} == {"node-2"}

    wait_for(only_node_2, "node-1 leaving the ordinary requests")
    assert live_node(balancer, token, "bearer") == "node-1"  # … its live sessions stay

    first.ready_for_live = False  # now it cannot hold live sessions: the session moves
    wait_for(lambda: live_node(balancer, token, "bearer") == "node-2", "the session moving")
    first.ready = first.ready_for_live = True  # node-1 is back …

    def back_for_new_sessions() -> bool:
        return live_node(balancer, secrets.token_urlsafe(24), "page") == "node-1"

    wait_for(back_for_new_sessions, "node-1 taking new sessions again")
    assert all(live_node(balancer, token, way) == "node-2" for way in ("page", "bearer", "query", "cookie"))
    assert second.received[("POST", "/live/offer")] >= 2  # … and the moved session stays where it went
