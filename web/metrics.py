"""`GET /metrics`: the platform's counters in the Prometheus text format.

Only aggregates over every college (no session, candidate or college appears in a label). Each app
has its own registry, read at scrape time from the live objects, so nothing is counted twice and
several apps in one process (tests) do not collide. The job queue, the ledger and the checkpoints are
read from the database, so every node reports the same figures for them; the analysis and live
figures are this node's own.

Only a client in `PROCTOR_METRICS_ALLOW_NETWORKS` (default: this machine) or one sending
`PROCTOR_METRICS_TOKEN` as a bearer token reads them; anyone else gets 403.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from footprint.ledger.tables import CheckpointRow, HeadRow
from footprint.store.times import as_utc
from proctor.sessions.tables import SessionRow
from proctor.sessions.worker import DURATION_BOUNDS_S
from web.cputime import own_threads, worker_parts
from web.deps import SettingsDep
from web.settings import Settings

if TYPE_CHECKING:
    from web.deps import Services
    from web.live.manager import LiveManager
    from web.platform import SessionPlatform

logger = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])

JOB_STATES = ("queued", "running", "done", "failed")
REFUSED = (
    "the metrics are read from an address in PROCTOR_METRICS_ALLOW_NETWORKS, or with "
    "`Authorization: Bearer` and the PROCTOR_METRICS_TOKEN of this node"
)


class LiveCollector(Collector):
    """Live sessions, media connections, analysis processes and the frames that went to them."""

    def __init__(self, live: LiveManager) -> None:
        self.live = live

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        live, pool = self.live, self.live.pool
        totals = pool.totals()
        yield GaugeMetricFamily("proctor_live_sessions", "Live exam sessions held by this node.", live.sessions)
        yield GaugeMetricFamily("proctor_live_streams", "Live sessions with a media connection now.", live.streams)
        yield GaugeMetricFamily("proctor_live_workers", "Live analysis processes running.", pool.alive())
        yield CounterMetricFamily(
            "proctor_live_frames_analysed", "Frames sent to live analysis (at the policy's rate).", totals.sent
        )
        yield CounterMetricFamily(
            "proctor_live_frames_dropped", "Frames dropped because live analysis was behind.", totals.dropped
        )
        parts = CounterMetricFamily(
            "proctor_live_worker_cpu_seconds",
            "CPU of the live analysis processes: their main threads, mediapipe's graph threads, the rest.",
            labels=["part"],
        )
        summed = {"analysis": 0.0, "models": 0.0, "other": 0.0}
        for pid in pool.pids():
            for part, seconds in worker_parts(pid).items():
                summed[part] += seconds
        for part, seconds in summed.items():
            parts.add_metric([part], seconds)
        yield parts


class ThreadsCollector(Collector):
    """CPU of this process's threads by job (receiving and decoding media, writing, the event loop): a gauge of
    the threads living now (a session's decoder threads leave it when the session ends)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "proctor_thread_cpu_seconds",
            "CPU seconds so far of the web process's living threads, by job.",
            labels=["thread"],
        )
        for name, seconds in sorted(own_threads().items()):
            family.add_metric([name], seconds)
        yield family


class JobsCollector(Collector):
    """Analysis jobs: the queue of the whole platform (from the database), and what this node analysed."""

    def __init__(self, services: Services, platform: SessionPlatform) -> None:
        self.services = services
        self.platform = platform

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("proctor_jobs", "Analysis jobs by state (all nodes).", labels=["state"])
        try:
            with self.services.sessions() as db:
                counts = dict(
                    db.execute(
                        select(SessionRow.job_state, func.count())
                        .where(SessionRow.job_state.in_(JOB_STATES))
                        .group_by(SessionRow.job_state)
                    ).all()
                )
            for state in JOB_STATES:
                jobs.add_metric([state], counts.get(state, 0))
            yield jobs
        except Exception:  # the database is away: the node's own figures still go out
            logger.warning("metrics: the job queue could not be read", exc_info=True)
        stats = self.platform.worker.stats
        yield GaugeMetricFamily("proctor_analysis_running", "Analysis jobs running on this node.", stats.running)
        outcomes = CounterMetricFamily(
            "proctor_analysis_jobs", "Analysis jobs this node ended, by outcome.", labels=["outcome"]
        )
        for outcome in ("done", "failed", "lost", "discarded"):
            outcomes.add_metric([outcome], getattr(stats, outcome))
        yield outcomes
        yield CounterMetricFamily(
            "proctor_analysis_recorded_seconds", "Seconds of recording this node analysed.", stats.recorded_s
        )
        buckets = [(f"{bound:g}", float(count)) for bound, count in zip(DURATION_BOUNDS_S, stats.within, strict=True)]
        buckets.append(("+Inf", float(stats.done)))
        histogram = HistogramMetricFamily("proctor_analysis_seconds", "Wall seconds of each analysis on this node.")
        histogram.add_metric([], buckets, stats.analysis_s)
        yield histogram


class LedgerCollector(Collector):
    """The ledger's size and the age of its latest signed checkpoint."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        try:
            with self.services.sessions() as db:
                size = db.scalar(select(HeadRow.size).where(HeadRow.id == 1)) or 0
                signed = db.scalar(select(func.max(CheckpointRow.signed_at)))
        except Exception:
            logger.warning("metrics: the ledger could not be read", exc_info=True)
            return
        yield GaugeMetricFamily("proctor_ledger_size", "Entries in the ledger.", size)
        if signed is not None:
            signed = as_utc(signed)  # SQLite gives naive UTC
            age = max(0.0, (datetime.now(UTC) - signed).total_seconds())
            yield GaugeMetricFamily("proctor_checkpoint_age_seconds", "Seconds since the latest checkpoint.", age)


def build_registry(live: LiveManager, services: Services, platform: SessionPlatform) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(LiveCollector(live))
    registry.register(ThreadsCollector())
    registry.register(JobsCollector(services, platform))
    registry.register(LedgerCollector(services))
    return registry


def from_allowed_network(host: str | None, settings: Settings) -> bool:
    """Whether the client's address (as uvicorn gives it: the proxy's X-Forwarded-For where it trusts one) is in
    an allowed network."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:  # no address (a Unix socket, a test client)
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # 127.0.0.1 on a dual-stack socket
    return any(address in network for network in settings.metrics_networks)


def has_token(authorization: str, settings: Settings) -> bool:
    """Whether `Authorization` carries the metrics token as a bearer token (compared in constant time)."""
    scheme, _, given = authorization.partition(" ")
    if settings.metrics_token is None or scheme.lower() != "bearer":
        return False
    return secrets.compare_digest(given.strip().encode(), settings.metrics_token.encode())


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}, 403: {"description": "Not an allowed scraper."}},
)
def metrics(request: Request, settings: SettingsDep) -> Response:
    """Counters of this node in the Prometheus text format (aggregates only: no college or person)."""
    host = request.client.host if request.client else None
    if not (from_allowed_network(host, settings) or has_token(request.headers.get("authorization", ""), settings)):
        raise HTTPException(403, REFUSED)
    registry: CollectorRegistry = request.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
