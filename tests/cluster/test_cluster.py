"""The platform as a real multi-node setup on this machine: PostgreSQL, a Ray head and a Ray worker node (one
CPU each), two `python -m web` nodes and HAProxy in front — the cluster `make cluster` starts, all on
loopback. One cluster serves the tests of this module, in order; the last one kills a platform node.

What is checked against ground truth: the events of every recording analysed on the cluster equal those of
an embedded single-machine analysis (SQLite, one local worker process) of the same files."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.pool import NullPool

from deploy.cluster import Cluster, ClusterSpec, start, stop
from deploy.processes import alive
from footprint.accounts import create_college
from footprint.ledger import Ledger
from footprint.ledger.tables import EntryRow
from footprint.store import make_engine, make_session_factory, migrate
from proctor.recording.storage import LocalStorage
from proctor.sessions.service import ServiceConfig, SessionService
from proctor.sessions.tables import EventRow, SessionRow
from proctor.sessions.worker import AnalysisWorker
from tests.fixtures.scenarios import Scenario
from tests.sessions.test_service import upload_of
from web.live.pinning import PIN_COOKIE, pin_of

pytestmark = [pytest.mark.xdist_group("cluster"), pytest.mark.slow, pytest.mark.postgres]

CLIPS = ("single_face.mp4", "no_face.mp4", "face_noface.mov", "noface_face.mov")
"""Short real recordings (2.4–6.2 s): one face; nobody; a face that leaves; a face that arrives."""
LEASE_S = 6.0
WAIT_S = 300.0

Event = tuple[int, str, float, float, bool]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(prefix="proctor-cluster-"))
    running = start(ClusterSpec(folder, job_lease_s=LEASE_S, checkpoint_interval_s=1.0))
    try:
        yield running
    finally:
        stop(folder)
        subprocess.run(["rm", "-rf", str(folder)], check=False)


@pytest.fixture(scope="module")
def db(cluster: Cluster) -> Iterator[Engine]:
    engine = create_engine(cluster.database_url, poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def client(cluster: Cluster) -> Iterator[httpx.Client]:
    """A client of the load balancer with the cluster's API key."""
    headers = {"Authorization": f"Bearer {cluster.api_key}"}
    with httpx.Client(base_url=cluster.url, headers=headers, timeout=60) as http:
        yield http


@dataclass(frozen=True)
class Enrolled:
    exam_id: str
    candidate_id: str


@pytest.fixture(scope="module")
def enrolled(client: httpx.Client, demo: Scenario) -> Enrolled:
    exam = client.post("/api/v1/exams", json={"title": "Interim: Physics", "attestation": "interim"})
    assert exam.status_code == 201, exam.text
    candidate = client.post(
        f"/api/v1/exams/{exam.json()['id']}/candidates",
        data={"external_id": "S-1", "full_name": "Arman"},
        files={"photo": ("ref.jpg", demo.reference.read_bytes(), "image/jpeg")},
    )
    assert candidate.status_code == 201, candidate.text
    return Enrolled(exam.json()["id"], candidate.json()["id"])


class SingleMachine:
    """The embedded platform (SQLite, local storage, one local analysis process): the ground truth."""

    def __init__(self, folder: Path, demo: Scenario) -> None:
        url = f"sqlite:///{folder / 'single.db'}"
        migrate(url)
        self.engine = make_engine(url)
        sessions = make_session_factory(engine=self.engine)
        with sessions.begin() as session:
            self.college = create_college(session, "Single machine")
        self.service = SessionService(
            sessions, LocalStorage(folder / "media"), Ledger("single/log"), ServiceConfig("http://127.0.0.1")
        )
        exam = self.service.create_exam(self.college, "Interim: Physics", "interim", None)
        self.exam_id = exam.id
        self.candidate = self.service.add_candidate(self.college, exam.id, "S-1", "Arman", demo.reference.read_bytes())
        self.folder = folder
        self.known: dict[Path, list[Event]] = {}

    def events(self, recording: Path) -> list[Event]:
        """The events of the recording analysed here (once per file)."""
        if recording not in self.known:
            row, _ = self.service.create_session(self.college, self.exam_id, self.candidate.id)
            self.service.recordings.accept(self.college, row.id, upload_of(recording, self.folder / "in"))
            worker = AnalysisWorker(self.service, processes=1, node="single")
            worker.start()
            try:
                assert worker.wait_idle(timeout=WAIT_S)
            finally:
                worker.stop()
            rows = self.service.events(self.college, row.id)
            self.known[recording] = [(e.seq, e.type, round(e.start_s, 3), round(e.end_s, 3), e.technical) for e in rows]
        return self.known[recording]


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory, demo: Scenario) -> Iterator[SingleMachine]:
    machine = SingleMachine(tmp_path_factory.mktemp("single"), demo)
    yield machine
    machine.engine.dispose()


def steer(client: httpx.Client, node: str) -> None:
    """Make round robin send the next ordinary request to `node`: ask `/healthz` until the other node answers."""
    for _ in range(4):
        if client.get("/healthz").headers["x-proctor-node"] != node:
            return
    raise AssertionError(f"round robin never left {node}")


def upload(client: httpx.Client, enrolled: Enrolled, recording: Path, node: str) -> tuple[str, str]:
    """A new session with `recording` uploaded through the load balancer to `node`; (session id, node)."""
    session = client.post(f"/api/v1/exams/{enrolled.exam_id}/sessions", json={"candidate_id": enrolled.candidate_id})
    assert session.status_code == 201, session.text
    steer(client, node)
    files = {"file": (recording.name, recording.read_bytes(), "video/mp4")}
    answer = client.post(f"/api/v1/sessions/{session.json()['id']}/recording", files=files)
    assert answer.status_code == 202, answer.text
    return session.json()["id"], answer.headers["x-proctor-node"]


def wait_done(client: httpx.Client, ids: list[str], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    states: list[str] = []
    while time.monotonic() < deadline:
        states = [client.get(f"/api/v1/sessions/{i}").json()["analysis"] for i in ids]
        if all(state in ("done", "failed") for state in states):
            break
        time.sleep(0.5)
    assert states == ["done"] * len(ids)


def cluster_events(client: httpx.Client, session_id: str) -> list[Event]:
    events = client.get(f"/api/v1/sessions/{session_id}/events").json()
    return [(e["seq"], e["type"], round(e["start_s"], 3), round(e["end_s"], 3), e["technical"]) for e in events]


def job(db: Engine, session_id: str) -> SessionRow:
    with db.connect() as connection:
        row = connection.execute(select(SessionRow.__table__).where(SessionRow.id == session_id)).one()
    return row  # type: ignore[return-value]


def kept_analyses(db: Engine, session_id: str) -> int:
    query = select(func.count()).select_from(EntryRow).where(EntryRow.kind == "proctoring_analysis")
    with db.connect() as connection:
        return int(connection.execute(query.where(EntryRow.record_id.like(f"{session_id}/%"))).scalar_one())


def event_runs(db: Engine, session_id: str) -> list[int]:
    with db.connect() as connection:
        query = select(EventRow.analysis_run).where(EventRow.session_id == session_id).distinct()
        return list(connection.execute(query).scalars())


def metrics(url: str) -> str:
    return httpx.get(f"{url}/metrics", timeout=10).text


def test_every_node_is_ready_and_live_requests_stay_with_their_session(
    cluster: Cluster, client: httpx.Client, enrolled: Enrolled
) -> None:
    for node in cluster.nodes:
        ready = httpx.get(f"{node.url}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json() == {
            "status": "ready",
            "node": node.name,
            "checks": {"database": "ok", "workers": "ok"},
        }
    assert {client.get("/healthz").headers["x-proctor-node"] for _ in range(4)} == {"node-1", "node-2"}

    async def hello(token: str) -> dict[str, Any]:
        url = cluster.url.replace("http", "ws", 1) + "/live/ws"
        cookie = {"Cookie": f"{PIN_COOKIE}={pin_of(token)}"}  # what the page's browser sends from the cookie
        async with websockets.connect(url, additional_headers=cookie) as socket:
            await socket.send(json.dumps({"type": "hello", "token": token}))
            welcome: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), 30))
            return welcome

    pinned: dict[str, str] = {}
    for _ in range(40):  # sessions until both nodes hold some (the hash spreads tokens over the nodes)
        made = client.post(f"/api/v1/exams/{enrolled.exam_id}/sessions", json={"candidate_id": enrolled.candidate_id})
        session_id, token = made.json()["id"], made.json()["join_url"].rsplit("/", 1)[1]
        page = httpx.get(f"{cluster.url}/join/{token}", timeout=30)
        node = page.headers["x-proctor-node"]
        assert page.status_code == 200 and f"{PIN_COOKIE}={pin_of(token)}" in page.headers["set-cookie"]
        bearer = {"Authorization": f"Bearer {token}"}
        for _ in range(3):  # round robin would alternate: the pin keeps every live request on the node
            offer = httpx.post(f"{cluster.url}/live/offer", json={"sdp": "v=0\r\n", "type": "offer"}, headers=bearer)
            assert offer.status_code in (400, 403) and offer.headers["x-proctor-node"] == node
            part = httpx.put(
                f"{cluster.url}/live/recording/run-1/0",
                content=b"\x1a\x45\xdf\xa3",
                headers={**bearer, "Content-Type": "video/webm", "X-Run-Start-S": "0"},
            )
            assert part.status_code == 403 and part.headers["x-proctor-node"] == node  # no consent yet
        welcome = asyncio.run(hello(token))
        assert welcome["type"] == "welcome" and welcome["session_id"] == session_id and welcome["node"] == node
        pinned[session_id] = node
        if set(pinned.values()) == {"node-1", "node-2"}:
            break
    assert set(pinned.values()) == {"node-1", "node-2"}
    with open(Path(cluster.balancer.log), encoding="utf-8", errors="replace") as log:
        assert "/join/[token]" in log.read()  # the balancer's access log never holds a join token


def test_twelve_recordings_through_the_balancer_are_analysed_once_on_ray_as_on_one_machine(
    cluster: Cluster, client: httpx.Client, db: Engine, enrolled: Enrolled, media: Path, single: SingleMachine
) -> None:
    uploads = [upload(client, enrolled, media / CLIPS[n % 4], f"node-{n % 2 + 1}") for n in range(12)]
    assert sorted(node for _, node in uploads) == ["node-1"] * 6 + ["node-2"] * 6  # uploads went to both nodes
    ids = [session_id for session_id, _ in uploads]
    wait_done(client, ids)
    ray_nodes = set()
    for n, session_id in enumerate(ids):
        row = job(db, session_id)
        assert (row.job_state, row.status, row.analysis_run, row.job_attempts) == ("done", "analysed", 1, 1)
        assert row.job_node in ("node-1", "node-2") and row.job_worker.startswith("ray:")
        ray_nodes.add(row.job_worker.split(":")[1])
        assert kept_analyses(db, session_id) == 1 and event_runs(db, session_id) in ([1], [])
        assert cluster_events(client, session_id) == single.events(media / CLIPS[n % 4]), CLIPS[n % 4]
    assert len(ray_nodes) == 2  # the actors ran on the Ray head and on the worker node (one CPU each)
    assert any(single.events(media / clip) for clip in CLIPS)  # the comparison compared something
    jobs = {
        m.group(1): float(m.group(2)) for m in re.finditer(r'proctor_jobs\{state="(\w+)"\} (\S+)', metrics(cluster.url))
    }
    assert jobs["done"] >= 12 and jobs["queued"] == 0 and jobs["running"] == 0


def test_a_ray_worker_killed_mid_job_leaves_the_job_to_finish_elsewhere(
    cluster: Cluster, client: httpx.Client, db: Engine, enrolled: Enrolled, demo: Scenario, single: SingleMachine
) -> None:
    session_id, _ = upload(client, enrolled, demo.video, "node-1")
    deadline = time.monotonic() + WAIT_S
    row = job(db, session_id)
    while time.monotonic() < deadline and not (row.job_state == "running" and row.job_worker):
        time.sleep(0.05)
        row = job(db, session_id)
    assert row.job_state == "running" and row.job_worker.startswith("ray:"), "the job never started on Ray"
    killed = int(row.job_worker.rsplit(":", 1)[1])
    assert alive(killed) and job(db, session_id).job_state == "running"
    os.kill(killed, signal.SIGKILL)  # the actor's process, mid-job
    wait_done(client, [session_id])
    row = job(db, session_id)
    assert row.job_worker.startswith("ray:") and not row.job_worker.endswith(f":{killed}")
    assert row.job_attempts == 1  # Ray ran it again on the restarted actor, under the same claim
    assert kept_analyses(db, session_id) == 1 and event_runs(db, session_id) == [1]
    assert cluster_events(client, session_id) == single.events(demo.video)  # nothing lost, nothing twice


def test_a_platform_node_killed_leaves_the_other_serving_and_signing(
    cluster: Cluster, client: httpx.Client, db: Engine, enrolled: Enrolled, demo: Scenario, single: SingleMachine
) -> None:
    ids = [upload(client, enrolled, demo.video, "node-1")[0] for _ in range(2)]
    deadline = time.monotonic() + WAIT_S
    held = None
    while time.monotonic() < deadline and held is None:
        held = next((i for i in ids if (r := job(db, i)).job_state == "running" and r.job_node == "node-1"), None)
        time.sleep(0.05)
    assert held is not None, "node-1 never ran one of the jobs"
    killed_at = time.time()
    os.killpg(cluster.node("node-1").pid, signal.SIGKILL)  # the node and its processes, mid-job

    answered = []
    for n in range(20):  # every request is served, by the node that is left
        exam = client.post("/api/v1/exams", json={"title": f"After the kill {n}", "attestation": "interim"})
        state = client.get(f"/api/v1/sessions/{held}")
        assert (exam.status_code, state.status_code) == (201, 200)
        answered += [exam.headers["x-proctor-node"], state.headers["x-proctor-node"]]
    assert set(answered[-10:]) == {"node-2"}

    wait_done(client, ids)  # node-2 takes over the job once node-1's lease has run out
    row = job(db, held)
    assert (row.job_node, row.job_attempts) == ("node-2", 2)
    for session_id in ids:
        assert kept_analyses(db, session_id) == 1 and event_runs(db, session_id) == [1]
        assert cluster_events(client, session_id) == single.events(demo.video)

    with db.connect() as connection:
        size = connection.execute(text("SELECT size FROM ledger_head")).scalar_one()
    deadline = time.monotonic() + 60
    signed: list[int] = []
    while time.monotonic() < deadline:
        with db.connect() as connection:
            signed = list(
                connection.execute(text("SELECT tree_size FROM ledger_checkpoints ORDER BY tree_size")).scalars()
            )
        if signed and signed[-1] >= size:
            break
        time.sleep(0.5)
    assert signed[-1] >= size  # checkpoints go on after the kill
    logged: dict[int, list[tuple[str, float]]] = {}
    for node in cluster.nodes:
        for line in Path(node.log).read_text(errors="replace").splitlines():
            found = re.search(r"^(\S+ \S+) .*checkpoint at tree size (\d+) signed by node (\S+)", line)
            if found:
                when = time.mktime(time.strptime(found.group(1).split(",")[0], "%Y-%m-%d %H:%M:%S"))
                logged.setdefault(int(found.group(2)), []).append((found.group(3), when))
    assert sorted(logged) == signed  # every checkpoint in the database was signed, and logged, by one node
    assert all(len(signers) == 1 for signers in logged.values())
    assert {node for size, [(node, when)] in logged.items() if when > killed_at + 1} == {"node-2"}

    public_key = Path(cluster.folder) / "keys" / "ledger.pub"
    footprint = Path(sys.executable).parent / "footprint"
    audit = subprocess.run(
        [str(footprint), "audit", cluster.database_url, "--public-key", str(public_key), "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    report = json.loads(audit.stdout)
    assert audit.returncode == 0 and report["clean"] and report["treeSize"] == signed[-1] >= size
