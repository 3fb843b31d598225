"""`python -m deploy.cluster start|stop|status`: the platform as several machines would run it, on one machine.

    PostgreSQL ── one database for every node (jobs, sessions, ledger)
    Ray head (1 CPU) + Ray worker node (1 CPU) ── analysis actors, models loaded once per actor
    platform node-1, node-2 (`python -m web`) ── stateless; shared media folder and ledger key
    HAProxy ── the one address clients use: round robin, live sessions pinned by their token

Everything listens on 127.0.0.1 only and lives in one folder (default `.cache/cluster`): the state file
`cluster.json`, every process's log, the media, PostgreSQL's data, the secrets (`keys/`: the ledger key,
the database password, the Ray cluster's token — Ray runs with `RAY_AUTH_MODE=token`). `stop` stops each
process by the id it was started with. The tests of tests/cluster/ start the same cluster through `start()`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from string import Template

import httpx

from deploy import postgres
from deploy.processes import alive, answers, service_port, spawn, stop_group, wait_until, write_secret
from deploy.raynode import LOOPBACK_ENV

logger = logging.getLogger("deploy.cluster")

ROOT = Path(__file__).resolve().parents[1]
STATE = "cluster.json"
DEFAULT_KEY = "cluster-demo-key-0123456789"
RAY_START_S = 120.0
RAY_NODE_TRIES = 2
NODE_START_S = 180.0


@dataclass(frozen=True)
class ClusterSpec:
    """What to start."""

    folder: Path
    platform_nodes: int = 2
    ray_workers: int = 1
    ray_cpus: int = 1
    """CPUs each Ray node offers (the head and every worker node)."""
    actors_per_node: int = 1
    """Analysis actors each platform node drives (`PROCTOR_ANALYSIS_WORKERS`)."""
    api_key: str = DEFAULT_KEY
    job_lease_s: float = 20.0
    checkpoint_interval_s: float = 2.0
    expose_node: bool = False
    """Nodes name themselves (`PROCTOR_EXPOSE_NODE`) and HAProxy lets the name out (tests, debugging)."""
    metrics_from: tuple[str, ...] = ("127.0.0.0/8",)
    """Networks whose clients may read /metrics through HAProxy (none: only from the nodes themselves)."""
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass
class Process:
    """A started process: its name, id (also its process group's), port and log."""

    name: str
    pid: int
    log: str
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """A running cluster, as written to `cluster.json`."""

    folder: str
    database_url: str
    postgres_port: int
    ray_address: str
    ray_temp: str
    media: str
    api_key: str
    balancer: Process
    ray_token_file: str = ""
    ray_workers: int = 1
    ray_cpus: int = 1
    ray: list[Process] = field(default_factory=list)
    nodes: list[Process] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Where clients go (the load balancer)."""
        return self.balancer.url

    def node(self, name: str) -> Process:
        return next(node for node in self.nodes if node.name == name)

    def save(self) -> None:
        write_secret(Path(self.folder, STATE), json.dumps(asdict(self), indent=2))  # the database URL has its password

    @classmethod
    def load(cls, folder: Path) -> Cluster:
        data = json.loads((folder / STATE).read_text())
        data["balancer"] = Process(**data["balancer"])
        data["ray"] = [Process(**p) for p in data["ray"]]
        data["nodes"] = [Process(**p) for p in data["nodes"]]
        return cls(**data)

    def describe(self) -> str:
        lines = [
            f"proctor.kz cluster in {self.folder} (loopback only)",
            f"  load balancer (HAProxy)  {self.url}   ← clients use this; API key {self.api_key}",
        ]
        lines += [f"  platform {node.name:<15} {node.url}   log {node.log}" for node in self.nodes]
        lines += [f"  ray {p.name:<20} pid {p.pid}   log {p.log}" for p in self.ray]
        lines += [
            f"  Ray cluster              {self.ray_address}   (token auth; token in {self.ray_token_file})",
            f"  PostgreSQL               {_without_password(self.database_url)}   (password in {STATE})",
            f"  shared media folder      {self.media}",
            "  stop with: make cluster-stop   (python -m deploy.cluster stop)",
        ]
        return "\n".join(lines)


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def ray_auth_env(token_file: Path | None) -> dict[str, str]:
    """What makes Ray processes (nodes and drivers) use token authentication with the token in `token_file`."""
    if token_file is None:
        return {}
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_file)}


def _environment(extra: dict[str, str]) -> dict[str, str]:
    """The environment of every cluster process: ours without `PROCTOR_*` and `RAY_AUTH_*`, on loopback, plus
    `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROCTOR_", "RAY_AUTH_"))}
    return {**env, **LOOPBACK_ENV, **extra}


def start_ray(
    folder: Path,
    temp: Path,
    workers: int,
    cpus: int,
    head_cpus: int | None = None,
    port: int | None = None,
    token_file: Path | None = None,
) -> tuple[str, list[Process]]:
    """A Ray head (on `port`, default a free one) and `workers` worker nodes on loopback (`cpus` CPUs each; the
    head `head_cpus`, default the same), with token authentication when a `token_file` is given; returns the
    cluster's address and the processes (stop each with `stop_group`). Nothing is left running when it fails."""
    python, env = sys.executable, _environment(ray_auth_env(token_file))
    port = port or service_port()
    common = ["--num-gpus=0", "--object-store-memory=100000000", "--block"]
    head = folder / "logs" / "ray-head.log"
    head_cmd = [python, "-m", "deploy.raynode", "start", "--head", f"--port={port}", "--include-dashboard=false"]
    head_cmd += [
        "--disable-usage-stats",
        f"--temp-dir={temp}",
        f"--num-cpus={cpus if head_cpus is None else head_cpus}",
    ]
    address = f"127.0.0.1:{port}"
    processes: list[Process] = []
    try:
        processes.append(Process("head", spawn([*head_cmd, *common], head, env, ROOT), str(head), port))
        _wait_for_ray(processes[0])
        for number in range(1, workers + 1):
            command = [python, "-m", "deploy.raynode", "start", f"--address={address}", f"--num-cpus={cpus}"]
            for attempt in range(1, RAY_NODE_TRIES + 1):  # nodes of one machine may race for a socket name
                log = folder / "logs" / (f"ray-worker-{number}" + (f"-try{attempt}" if attempt > 1 else "") + ".log")
                worker = Process(f"worker-{number}", spawn([*command, *common], log, env, ROOT), str(log))
                processes.append(worker)
                try:
                    _wait_for_ray(worker)
                    break
                except RuntimeError:
                    if attempt == RAY_NODE_TRIES:
                        raise
                    logger.warning("Ray worker-%d did not start; trying again", number)
                    stop_group(processes.pop().pid)
    except BaseException:
        for process in reversed(processes):
            stop_group(process.pid)
        raise
    return address, processes


def _wait_for_ray(node: Process) -> None:
    log = Path(node.log)

    def started() -> bool:
        text = log.read_text(errors="replace")
        if "timed out during startup" in text or "Error:" in text:
            raise RuntimeError(f"Ray {node.name} failed to start\n{text[-2000:]}")
        return "Ray runtime started" in text

    wait_until(started, RAY_START_S, f"Ray {node.name}", node.pid, log)


def _prepare_database(node_env: dict[str, str]) -> None:
    """Migrate the database, write the ledger key and the demo college once, before the nodes start together."""
    from web.app import settle_bootstrap
    from web.services import build_services
    from web.settings import load_settings

    settings = load_settings({k: v for k, v in node_env.items() if k.startswith("PROCTOR_")})
    services = build_services(settings)
    try:
        settle_bootstrap(services)
    finally:
        services.engine.dispose()


def haproxy_config(listen: str, nodes: list[Process], metrics_from: tuple[str, ...], expose_node: bool) -> str:
    """deploy/haproxy.cfg.in filled in for `nodes` (each checked by both backends, each its own way)."""
    servers = "\n".join(f"    server {n.name} 127.0.0.1:{n.port} check" for n in nodes)
    if metrics_from:
        metrics_rule = (
            f"    acl metrics_reader src {' '.join(metrics_from)}\n"
            "    http-request deny deny_status 403 if metrics_path !metrics_reader"
        )
    else:
        metrics_rule = "    http-request deny deny_status 403 if metrics_path"
    node_header_rule = (
        "    # the nodes' names are let out (a test cluster)"
        if expose_node
        else "    http-response del-header X-Proctor-Node"
    )
    template = Template((Path(__file__).parent / "haproxy.cfg.in").read_text())
    return template.substitute(
        listen=listen,
        servers=servers,
        live_servers=servers,
        metrics_rule=metrics_rule,
        node_header_rule=node_header_rule,
    )


def _haproxy(folder: Path, port: int, nodes: list[Process], spec: ClusterSpec) -> Process:
    config = folder / "haproxy.cfg"
    config.write_text(haproxy_config(f"127.0.0.1:{port}", nodes, spec.metrics_from, spec.expose_node))
    log = folder / "logs" / "haproxy.log"
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    checked = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True, check=False)
    if checked.returncode:
        raise RuntimeError(f"the HAProxy configuration {config} is refused: {checked.stderr or checked.stdout}")
    return Process("haproxy", spawn([haproxy, "-db", "-f", str(config)], log), str(log), port)


def _fully_ready(url: str) -> Callable[[], bool]:
    """A check that the node at `url` is ready and not degraded (its analysis workers are there)."""

    def check() -> bool:
        try:
            answer = httpx.get(f"{url}/readyz", timeout=2)
            return answer.status_code == 200 and answer.json().get("status") == "ready"
        except (httpx.HTTPError, ValueError):
            return False

    return check


def start(spec: ClusterSpec) -> Cluster:
    """Start the whole cluster in `spec.folder` and return it once every part answers."""
    folder = spec.folder.resolve()
    if (folder / STATE).exists():
        raise RuntimeError(f"a cluster is already described in {folder}: stop it first")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)  # PostgreSQL runs as its own user (when we are root) and must reach its folder
    media, keys = folder / "media", folder / "keys"
    media.mkdir(exist_ok=True)
    keys.mkdir(exist_ok=True)
    pg_port = service_port()
    ray_temp = Path("/tmp") / f"proctor-ray-{hashlib.sha256(str(folder).encode()).hexdigest()[:10]}"
    balancer = Process("haproxy", 0, str(folder / "logs" / "haproxy.log"), service_port())
    token = keys / "ray-token"
    if not token.exists():
        write_secret(token, secrets.token_hex(32))
    cluster = Cluster(
        str(folder), "", pg_port, "", str(ray_temp), str(media), spec.api_key, balancer, str(token), spec.ray_workers
    )
    cluster.ray_cpus = spec.ray_cpus
    try:
        cluster.database_url = postgres.start(folder / "postgres", pg_port)
        cluster.save()
        cluster.ray_address, cluster.ray = start_ray(
            folder, ray_temp, spec.ray_workers, spec.ray_cpus, token_file=token
        )
        cluster.save()
        shared = {
            "PROCTOR_DATABASE_URL": cluster.database_url,
            "PROCTOR_MEDIA_DIR": str(media),
            "PROCTOR_SIGNING_KEY_FILE": str(keys / "ledger.key"),
            "PROCTOR_PUBLIC_URL": balancer.url,
            "PROCTOR_BOOTSTRAP_API_KEY": spec.api_key,
            "PROCTOR_RAY_ADDRESS": cluster.ray_address,
            "PROCTOR_ANALYSIS_WORKERS": str(spec.actors_per_node),
            "PROCTOR_JOB_LEASE_S": f"{spec.job_lease_s:g}",
            "PROCTOR_CHECKPOINT_INTERVAL_S": f"{spec.checkpoint_interval_s:g}",
            "PROCTOR_EXPOSE_NODE": "true" if spec.expose_node else "false",
            # a node sees HAProxy's clients by its X-Forwarded-For: those HAProxy lets through, and this machine
            "PROCTOR_METRICS_ALLOW_NETWORKS": ",".join(("127.0.0.1/32", "::1/128", *spec.metrics_from)),
            **spec.extra_env,
        }
        _prepare_database({**shared, "PROCTOR_DATA_DIR": str(folder / "prepare")})
        for number in range(1, spec.platform_nodes + 1):
            name, port = f"node-{number}", service_port()
            env = _environment(
                {
                    **shared,
                    **ray_auth_env(token),
                    "PROCTOR_NODE_ID": name,
                    "PROCTOR_PORT": str(port),
                    "PROCTOR_DATA_DIR": str(folder / name),
                }
            )
            log = folder / "logs" / f"{name}.log"
            cluster.nodes.append(Process(name, spawn([sys.executable, "-m", "web"], log, env, ROOT), str(log), port))
            cluster.save()
        for node in cluster.nodes:  # ready, and its analysis actors reachable (a node is ready without them too)
            wait_until(_fully_ready(node.url), NODE_START_S, f"platform {node.name}", node.pid, Path(node.log))
        cluster.balancer = _haproxy(folder, balancer.port, cluster.nodes, spec)
        cluster.save()
        wait_until(
            answers(f"{cluster.url}/readyz"), 30, "the load balancer", cluster.balancer.pid, Path(cluster.balancer.log)
        )
    except BaseException:
        stop(folder)
        raise
    return cluster


def restart_ray(cluster: Cluster) -> None:
    """Stop every Ray process of the cluster and start its head and worker nodes again, the head on the same
    port (the platform nodes know that address); the nodes' drivers reconnect by themselves."""
    for process in reversed(cluster.ray):
        stop_group(process.pid, grace_s=0.0)
    folder, temp = Path(cluster.folder), Path(cluster.ray_temp)
    shutil.rmtree(temp, ignore_errors=True)
    port = int(cluster.ray_address.rsplit(":", 1)[1])
    token = Path(cluster.ray_token_file) if cluster.ray_token_file else None
    cluster.ray = []
    cluster.save()
    _, cluster.ray = start_ray(folder, temp, cluster.ray_workers, cluster.ray_cpus, port=port, token_file=token)
    cluster.save()


def stop(folder: Path) -> None:
    """Stop every process of the cluster described in `folder` (by the ids it was started with)."""
    folder = folder.resolve()
    if not (folder / STATE).exists():
        return
    cluster = Cluster.load(folder)
    for process in [cluster.balancer, *cluster.nodes, *reversed(cluster.ray)]:
        if process.pid:
            stop_group(process.pid, grace_s=20.0 if alive(process.pid) else 0.0)
    with contextlib.suppress(RuntimeError):
        postgres.stop(folder / "postgres")
    shutil.rmtree(cluster.ray_temp, ignore_errors=True)
    (folder / STATE).unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--folder", type=Path, default=ROOT / ".cache" / "cluster")
    parser.add_argument("--nodes", type=int, default=2, help="platform nodes (default 2)")
    parser.add_argument("--ray-workers", type=int, default=1, help="Ray worker nodes besides the head (default 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.command == "stop":
        stop(args.folder)
        logger.info("cluster in %s stopped", args.folder)
        return 0
    if args.command == "status":
        if not (args.folder / STATE).exists():
            logger.info("no cluster in %s", args.folder)
            return 1
        cluster = Cluster.load(args.folder.resolve())
        logger.info("%s", cluster.describe())
        down = [p.name for p in [cluster.balancer, *cluster.nodes, *cluster.ray] if not alive(p.pid)]
        logger.info("not running: %s", ", ".join(down) if down else "none")
        return 0
    cluster = start(ClusterSpec(args.folder, platform_nodes=args.nodes, ray_workers=args.ray_workers))
    logger.info("%s", cluster.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
