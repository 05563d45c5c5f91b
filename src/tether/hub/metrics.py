"""`GET /metrics`: Prometheus metrics of the hub (admins only — they name teams and runners).

Values are read from the broker when scraped, so nothing on the hot path changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tether.errors import Forbidden
from tether.hub.broker import Broker
from tether.hub.routes import User


class BrokerCollector(Collector):
    """Reads the live state of one hub's broker."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def collect(self) -> Iterator[Metric]:
        """The metric families, as of now."""
        broker = self.broker
        stored = CounterMetricFamily(
            "tether_events_stored", "Events written to the store since the hub started"
        )
        stored.add_metric([], broker.events_stored)
        yield stored
        runners = GaugeMetricFamily("tether_runners_connected", "Runners connected now")
        runners.add_metric([], len(broker.runners))
        yield runners
        states = Counter(broker.info(live).state for live in broker.sessions.values())
        sessions = GaugeMetricFamily(
            "tether_sessions", "Sessions loaded in the hub, by state", labels=["state"]
        )
        for state, count in sorted(states.items()):
            sessions.add_metric([state], count)
        yield sessions
        viewers = GaugeMetricFamily("tether_viewers_connected", "Viewer sockets open now")
        viewers.add_metric([], sum(len(live.viewers) for live in broker.sessions.values()))
        yield viewers
        pending = GaugeMetricFamily(
            "tether_permission_requests_pending", "Permission requests waiting for an answer"
        )
        pending.add_metric([], sum(len(live.tracker.pending) for live in broker.sessions.values()))
        yield pending


def mount_metrics(app: FastAPI, broker: Broker) -> None:
    """Add /metrics to the app, with a registry of its own (several hubs in one process)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(BrokerCollector(broker))
    metrics_router = APIRouter()

    @metrics_router.get("/metrics", include_in_schema=True)
    async def metrics(principal: User) -> Response:
        """Prometheus text format. Scrape with an admin's token (`tether token`)."""
        if not principal.is_admin:
            raise Forbidden("only admins may read /metrics")
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(metrics_router)
