"""`GET /metrics`: the platform's counters in the Prometheus text format.

Only aggregates over every college (no session, candidate or college appears in a label). Each app
has its own registry, read at scrape time from the live objects, so nothing is counted twice and
several apps in one process (tests) do not collide.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from web.live.manager import LiveManager

router = APIRouter(tags=["operations"])


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


def build_registry(live: LiveManager) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(LiveCollector(live))
    return registry


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request) -> Response:
    """Counters of this node in the Prometheus text format (aggregates only: no college or person)."""
    registry: CollectorRegistry = request.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
