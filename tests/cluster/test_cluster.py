"""The platform as a real multi-node setup on this machine: PostgreSQL, a Ray head and a Ray worker node (one
CPU each, token authentication), two `python -m web` nodes and HAProxy in front — the cluster `make cluster`
starts, all on loopback. One cluster serves the tests of this module, in order: a Ray actor that hangs,
one killed mid-job, the whole Ray cluster killed and brought back, and last a platform node killed.

What is checked against ground truth: the events of every recording analysed on the cluster equal those of
an embedded single-machine analysis (SQLite, one local worker process) of the same files. Nothing here
depends on how fast the machine is: a worker is killed only once its job has reported progress with most
of a long recording still to do, a hang is that process stopped at the same point, and every wait is
for a state (bounded), never for a time."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.pool import NullPool

from deploy.cluster import Cluster, ClusterSpec, ray_auth_env, restart_ray, start, stop
from deploy.processes import alive, reap
from deploy.raynode import LOOPBACK_ENV
from footprint.accounts import create_college
from footprint.ledger import Ledger
from footprint.ledger.tables import CheckpointRow, EntryRow
from footprint.store import make_engine, make_session_factory, migrate
from proctor.analyze import analyze_recording
from proctor.policy import PRESETS
from proctor.recording.storage import LocalStorage
from proctor.sessions.service import ServiceConfig, SessionService
from proctor.sessions.tables import EventRow, ExamRow, SessionRow
from proctor.sessions.worker import AnalysisWorker
from tests.fixtures.scenarios import Scenario
from tests.sessions.test_service import upload_of
from web.live.pinning import PIN_COOKIE, pin_of

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CLIPS = ("single_face.mp4", "no_face.mp4", "face_noface.mov", "noface_face.mov")
"""Short real recordings (2.4–6.2 s): one face; nobody; a face that leaves; a face that arrives."""
LEASE_S = 20.0
WAIT_S = 300.0
KILL_BELOW = 0.4
"""A worker is killed once its job reported progress, at most this share of a ≈ 90 s recording."""

Event = tuple[int, str, float, float, bool, str, float]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(prefix="proctor-cluster-"))
    spec = ClusterSpec(
        folder,
        job_lease_s=LEASE_S,
        checkpoint_interval_s=1.0,
        expose_node=True,  # the tests see which node answered
        metrics_from=(),  # /metrics only from the nodes themselves
        extra_env={
            # a hung start is stopped after 1 x its length + 15 s (the 90 s recording analyses in about 15 s here)
            "PROCTOR_JOB_DEADLINE_FACTOR": "1",
            "PROCTOR_JOB_DEADLINE_MARGIN_S": "15",
            "PROCTOR_JOB_RETRY_S": "1",
            "PROCTOR_WORKER_START_S": "60",
        },
    )
    running = start(spec)
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
        self.reference = demo.reference
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
            self.known[recording] = [
                (e.seq, e.type, round(e.start_s, 3), round(e.end_s, 3), e.technical, e.severity, round(e.confidence, 3))
                for e in rows
            ]
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


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s")


def cluster_events(client: httpx.Client, session_id: str) -> list[Event]:
    events = client.get(f"/api/v1/sessions/{session_id}/events").json()
    return [
        (e["seq"], e["type"], round(e["start_s"], 3), round(e["end_s"], 3), e["technical"], e["severity"])
        + (round(e["confidence"], 3),)
        for e in events
    ]


def balancer_log_tail(cluster: Cluster, lines: int = 12) -> str:
    """The last lines of HAProxy's log: what it did with a request that failed."""
    text_ = Path(cluster.balancer.log).read_text(encoding="utf-8", errors="replace")
    return "\n".join(text_.splitlines()[-lines:])


def node_log_tails(cluster: Cluster, lines: int = 25) -> str:
    """The last lines of each platform node's log."""
    tails = []
    for node in cluster.nodes:
        text_ = Path(node.log).read_text(encoding="utf-8", errors="replace")
        tails.append(f"\n--- {node.name} ---\n" + "\n".join(text_.splitlines()[-lines:]))
    return "".join(tails)


def job(db: Engine, session_id: str) -> Any:
    with db.connect() as connection:
        return connection.execute(select(SessionRow.__table__).where(SessionRow.id == session_id)).one()


def kept_analyses(db: Engine, session_id: str) -> int:
    query = select(func.count()).select_from(EntryRow).where(EntryRow.kind == "proctoring_analysis")
    with db.connect() as connection:
        return int(connection.execute(query.where(EntryRow.record_id.like(f"{session_id}/%"))).scalar_one())


def event_runs(db: Engine, session_id: str) -> list[int]:
    with db.connect() as connection:
        query = select(EventRow.analysis_run).where(EventRow.session_id == session_id).distinct()
        return list(connection.execute(query).scalars())


def pid_of(worker: str) -> int:
    """The process id in a job's worker (`ray:NODE:PID`)."""
    return int(worker.rsplit(":", 1)[1])


def refuses(port: int) -> bool:
    """Nothing listens on the loopback `port` any more."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


def mid_job(db: Engine, session_id: str, node: str | None = None) -> bool:
    """The job runs (on `node`, when given), has reported progress and has most of its recording left."""
    row = job(db, session_id)
    return bool(
        row.job_state == "running"
        and row.job_worker
        and (node is None or row.job_node == node)
        and 0.0 < (row.job_progress or 0.0) <= KILL_BELOW
    )


ACTORS: dict[str, int] = {}
"""The Ray actor process of each platform node (its one slot), as the twelve uploads saw them."""


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
        assert httpx.get(f"{node.url}/metrics", timeout=10).status_code == 200  # the operators' scraper, direct
    assert {client.get("/healthz").headers["x-proctor-node"] for _ in range(4)} == {"node-1", "node-2"}
    assert client.get("/metrics").status_code == 403  # not through the balancer

    async def hello(token: str, by_query: bool) -> dict[str, Any]:
        url = cluster.url.replace("http", "ws", 1) + "/live/ws"
        pin = pin_of(token)
        if by_query:  # what the Python client sends
            socket = websockets.connect(f"{url}?pin={pin}")
        else:  # what the page's browser sends, from the cookie
            socket = websockets.connect(url, additional_headers={"Cookie": f"{PIN_COOKIE}={pin}"})
        async with socket as connected:
            await connected.send(json.dumps({"type": "hello", "token": token}))
            welcome: dict[str, Any] = json.loads(await asyncio.wait_for(connected.recv(), 30))
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
        for by_query in (False, True):
            welcome = asyncio.run(hello(token, by_query))
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
        ACTORS[row.job_node] = pid_of(row.job_worker)
        assert kept_analyses(db, session_id) == 1 and event_runs(db, session_id) in ([1], [])
        assert cluster_events(client, session_id) == single.events(media / CLIPS[n % 4]), CLIPS[n % 4]
    assert len(ray_nodes) == 2  # the actors ran on the Ray head and on the worker node (one CPU each)
    assert len(set(ACTORS.values())) == 2  # one actor per platform node
    assert any(single.events(media / clip) for clip in CLIPS)  # the comparison compared something
    scraped = httpx.get(f"{cluster.nodes[0].url}/metrics", timeout=10).text
    samples = [line.split(" ") for line in scraped.splitlines() if line.startswith("proctor_jobs{")]
    jobs = {name: float(value) for name, value in samples}
    assert jobs['proctor_jobs{state="done"}'] >= 12 and jobs['proctor_jobs{state="queued"}'] == 0
    assert jobs['proctor_jobs{state="running"}'] == 0


def test_a_slot_whose_actor_does_not_fit_the_cluster_claims_nothing(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proctor.jobs.ray_cluster import RayExecutor, RayOptions

    for name, value in {**LOOPBACK_ENV, **ray_auth_env(Path(cluster.ray_token_file))}.items():
        monkeypatch.setenv(name, value)  # what its driver process needs to join this cluster
    third = RayExecutor(RayOptions(cluster.ray_address, actors=1, cpus=1.0))  # both CPUs are held by the nodes
    try:
        wait_for(third.healthy, "the third driver connecting", timeout_s=120)
        assert not third.prepare(0, timeout_s=5.0)  # its actor cannot be placed: the slot is not ready
        assert third.healthy()  # the cluster itself is fine
    finally:
        third.close()


def test_a_hung_ray_actor_is_stopped_at_the_deadline_and_the_job_finishes_elsewhere(
    cluster: Cluster, client: httpx.Client, db: Engine, enrolled: Enrolled, long_demo: Path, single: SingleMachine
) -> None:
    session_id, _ = upload(client, enrolled, long_demo, "node-1")
    wait_for(lambda: mid_job(db, session_id), "the job running with most of it left")
    hung = pid_of(job(db, session_id).job_worker)
    os.kill(hung, signal.SIGSTOP)  # the actor running the job hangs, mid-job
    # at the deadline (1 × ≈ 90 s + 15 s) the hung actor is killed and the job runs again
    wait_done(client, [session_id], timeout_s=WAIT_S + 105)
    row = job(db, session_id)
    seen = f"{row.job_worker} after {row.job_attempts} start(s); the hung actor {hung}"
    assert row.job_attempts == 2 and row.job_error is None, seen + node_log_tails(cluster)
    assert pid_of(row.job_worker) != hung, seen  # finished by another actor
    wait_for(lambda: not alive(hung), "the hung actor ending", timeout_s=120)  # Ray ends it for good
    assert kept_analyses(db, session_id) == 1 and event_runs(db, session_id) == [1]
    assert cluster_events(client, session_id) == single.events(long_demo)  # nothing lost, nothing twice
    # one pipeline: the recording, analysed in 10 s chunks on the cluster, gives what `proctor analyze` gives
    offline = analyze_recording(long_demo, single.reference, PRESETS["interim"]).events
    kept = cluster_events(client, session_id)
    assert [(e[1], e[5]) for e in kept] == [(e.type.value, e.severity.value) for e in offline]
    for got, want in zip(kept, offline, strict=True):
        assert got[2] == pytest.approx(want.start_s, abs=0.1) and got[3] == pytest.approx(want.end_s, abs=0.1)


def test_a_ray_worker_killed_mid_job_leaves_the_job_to_finish_elsewhere(
    client: httpx.Client, db: Engine, enrolled: Enrolled, long_demo: Path, single: SingleMachine
) -> None:
    session_id, _ = upload(client, enrolled, long_demo, "node-1")
    wait_for(lambda: mid_job(db, session_id), "the job running with most of it left")
    killed = pid_of(job(db, session_id).job_worker)
    os.kill(killed, signal.SIGKILL)  # the actor's process, mid-job
    wait_done(client, [session_id])
    row = job(db, session_id)
    assert row.job_worker.startswith("ray:") and pid_of(row.job_worker) != killed
    assert row.job_attempts == 1  # Ray ran it again on the restarted actor, under the same claim
    assert kept_analyses(db, session_id) == 1 and event_runs(db, session_id) == [1]
    assert cluster_events(client, session_id) == single.events(long_demo)  # nothing lost, nothing twice


def test_the_platform_outlives_its_ray_cluster_and_runs_the_queue_when_it_returns(
    cluster: Cluster, client: httpx.Client, db: Engine, enrolled: Enrolled, media: Path, single: SingleMachine
) -> None:
    for process in cluster.ray:
        os.killpg(process.pid, signal.SIGKILL)  # the head (its GCS) and the worker node, all at once
        reap(process.pid)

    def degraded(node_url: str) -> bool:
        ready = httpx.get(f"{node_url}/readyz", timeout=10)
        return ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "workers": "unavailable"}

    for node in cluster.nodes:  # still ready (in the balancer), and saying what is missing
        wait_for(lambda url=node.url: degraded(url), f"{node.name} noticing", timeout_s=120)
    session_id, _ = upload(client, enrolled, media / "face_noface.mov", "node-2")  # uploads are taken …
    exam = client.post("/api/v1/exams", json={"title": "While Ray is away", "attestation": "interim"})
    assert exam.status_code == 201
    assert (job(db, session_id).job_state, job(db, session_id).job_attempts) == ("queued", 0)  # … and wait

    restart_ray(cluster)  # Ray is back, at the same address
    wait_done(client, [session_id])
    for node in cluster.nodes:
        assert alive(node.pid)  # the platform nodes never stopped
        assert httpx.get(f"{node.url}/readyz", timeout=10).json()["status"] == "ready"
    row = job(db, session_id)
    assert row.job_attempts == 1 and row.job_worker.startswith("ray:")  # started once, when Ray was back
    assert cluster_events(client, session_id) == single.events(Path(media / "face_noface.mov"))
    ACTORS.clear()


def test_a_platform_node_killed_leaves_the_other_serving_and_signing(
    cluster: Cluster, client: httpx.Client, db: Engine, enrolled: Enrolled, long_demo: Path, single: SingleMachine
) -> None:
    ids = [upload(client, enrolled, long_demo, "node-1")[0] for _ in range(2)]
    wait_for(lambda: any(mid_job(db, i, "node-1") for i in ids), "node-1 running a job with most of it left")
    held = next(i for i in ids if job(db, i).job_node == "node-1")
    os.killpg(cluster.node("node-1").pid, signal.SIGKILL)  # the node and its processes, mid-job
    # gone means its port refuses connections: the killed process shows as a zombie while its last threads
    # still hold its sockets, and a connection the kernel accepts then would be reset (a 502 at the balancer)
    wait_for(lambda: not alive(cluster.node("node-1").pid), "node-1 gone", timeout_s=30)
    wait_for(lambda: refuses(cluster.node("node-1").port), "node-1's port closed", timeout_s=30)
    # read once node-1 is gone (it signs every second until then, stamping its own clock): whatever is signed
    # later was signed by another node, however long the kill took to land
    killed_at = datetime.now(UTC)

    answered = []
    headers = {"Authorization": f"Bearer {cluster.api_key}"}
    for n in range(20):  # every request is served, by the node that is left (each on a connection of its own)
        exam = httpx.post(
            f"{cluster.url}/api/v1/exams",
            json={"title": f"After the kill {n}", "attestation": "interim"},
            headers=headers,
            timeout=60,
        )
        state = httpx.get(f"{cluster.url}/api/v1/sessions/{held}", headers=headers, timeout=60)
        assert (exam.status_code, state.status_code) == (201, 200), balancer_log_tail(cluster)
        answered += [exam.headers["x-proctor-node"], state.headers["x-proctor-node"]]
    assert set(answered) == {"node-2"}
    with db.connect() as connection:  # each exam once: no request was carried out twice
        titles = connection.execute(
            select(ExamRow.title, func.count()).where(ExamRow.title.like("After the kill %")).group_by(ExamRow.title)
        ).all()
    assert sorted(titles) == sorted((f"After the kill {n}", 1) for n in range(20))

    wait_done(client, ids)  # node-2 takes over the job once node-1's lease has run out
    row = job(db, held)
    assert (row.job_node, row.job_attempts) == ("node-2", 2)
    for session_id in ids:
        assert kept_analyses(db, session_id) == 1 and event_runs(db, session_id) == [1]
        assert cluster_events(client, session_id) == single.events(long_demo)

    with db.connect() as connection:
        size = connection.execute(text("SELECT size FROM ledger_head")).scalar_one()

    def signed_up_to_size() -> bool:
        with db.connect() as connection:
            latest = connection.execute(select(func.max(CheckpointRow.tree_size))).scalar()
        return latest is not None and latest >= size

    wait_for(signed_up_to_size, "a checkpoint of the ledger as it is now", timeout_s=60)
    with db.connect() as connection:
        signed = connection.execute(
            select(CheckpointRow.tree_size, CheckpointRow.signed_by, CheckpointRow.signed_at).order_by(
                CheckpointRow.tree_size
            )
        ).all()
    assert {by for _, by, _ in signed} <= {"node-1", "node-2"}  # each checkpoint (one row per size) by one node
    after = [by for _, by, at in signed if (at if at.tzinfo else at.replace(tzinfo=UTC)) > killed_at]
    assert after and set(after) == {"node-2"}  # checkpoints go on after the kill, signed by the node left

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
    assert audit.returncode == 0 and report["clean"] and report["treeSize"] == signed[-1][0] >= size
