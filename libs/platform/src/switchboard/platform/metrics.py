"""The Prometheus series every service shares (issue 15: what an on-call engineer asks).

Label values are bounded: route templates (never raw paths), logical topic names (without
the environment's prefix), partition numbers, consumer names, channels and outcomes. No id,
no practice, nothing a patient wrote.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from switchboard.platform.logging import get_logger

log = get_logger(__name__)

# Latency buckets from 1 ms to 30 s: webhook acks sit at the low end, end-to-end at the top.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)

HTTP_REQUESTS = Counter(
    "switchboard_http_requests_total",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "switchboard_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
PUBLISH_SECONDS = Histogram(
    "switchboard_kafka_publish_seconds",
    "Time from send to Kafka's acks=all for one publish call, by topic",
    ["topic"],
    buckets=LATENCY_BUCKETS,
)
PUBLISHED = Counter(
    "switchboard_kafka_published_total",
    "Events published, by topic and outcome",
    ["topic", "outcome"],
)
PRODUCER_RESETS = Counter(
    "switchboard_kafka_producer_resets_total",
    "Producers replaced after writes failed without a break for producer_reset_after_s",
)
CONSUMER_LAG = Gauge(
    "switchboard_consumer_lag",
    "Records not yet processed: the partition's end offset minus the consumer's position",
    ["consumer", "topic", "partition"],
)
CONSUMER_LAST_POLL = Gauge(
    "switchboard_consumer_last_poll_timestamp_seconds",
    "When the consumer loop last returned from a poll (a stuck loop stops moving it)",
    ["consumer"],
)
END_TO_END_SECONDS = Histogram(
    "switchboard_end_to_end_seconds",
    "From a message's receipt at the edge to its being visible in the inbox read model",
    ["channel"],
    buckets=LATENCY_BUCKETS,
)
_ROUTE_UNMATCHED = "unmatched"

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


class HttpMetrics:
    """ASGI middleware: one count and one latency per request, labelled by route template.

    A raw path can carry a phone or an id; the template (`/api/conversations/{id}`) cannot,
    and keeps the series bounded. Ops routes are left out (scrapes would dominate)."""

    SKIP = frozenset({"/metrics", "/healthz", "/readyz"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.SKIP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or _ROUTE_UNMATCHED
            method = scope.get("method", "GET")
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_SECONDS.labels(method, template).observe(elapsed)
            # One line per channel webhook (the intake's own record), and every server error.
            if template.startswith("/webhooks/") or status >= 500:
                log.info(
                    "http_request",
                    method=method,
                    route=template,
                    status=status,
                    duration_ms=round(elapsed * 1000, 1),
                )


def logical_topic(topic: str, prefix: str) -> str:
    """A topic name without the environment's prefix (tests and stages share clusters)."""
    return topic[len(prefix) :] if prefix and topic.startswith(prefix) else topic


class PoolCollector(Collector):
    """PostgreSQL connection pool use of one engine, read at scrape time."""

    def __init__(self, engine: AsyncEngine, service: str) -> None:
        self.engine = engine
        self.service = service

    def collect(self) -> Any:
        pool: Any = self.engine.sync_engine.pool
        size = GaugeMetricFamily(
            "switchboard_db_pool_size", "Connections the pool keeps", labels=["service"]
        )
        used = GaugeMetricFamily(
            "switchboard_db_pool_checked_out", "Connections in use now", labels=["service"]
        )
        overflow = GaugeMetricFamily(
            "switchboard_db_pool_overflow", "Connections beyond the pool size", labels=["service"]
        )
        for family, reader in ((size, "size"), (used, "checkedout"), (overflow, "overflow")):
            read = getattr(pool, reader, None)
            if callable(read):
                family.add_metric([self.service], float(read()))
                yield family


_pool_collector: PoolCollector | None = None


def watch_pool(engine: AsyncEngine, service: str) -> None:
    """Report `engine`'s pool; a process reports its latest engine (tests open several)."""
    global _pool_collector
    if _pool_collector is not None:
        REGISTRY.unregister(_pool_collector)
    _pool_collector = PoolCollector(engine, service)
    REGISTRY.register(_pool_collector)
