"""Prometheus metrics of one service instance (own registry: no globals)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from application.commands import IngestResult
from application.geocoding import GeocodingSnapshot
from application.intake_app import IntakeApplication

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000)


class _LagCollector(Collector):
    def __init__(self, lags: Callable[[], dict[str, int]]) -> None:
        self._lags = lags

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "wms_intake_projection_lag_events",
            "Events recorded but not yet applied to a read model.",
            labels=["projection"],
        )
        for name, lag in self._lags().items():
            family.add_metric([name], lag)
        yield family


class _GeocodingCollector(Collector):
    def __init__(self, snapshot: Callable[[], GeocodingSnapshot | None]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        snapshot = self._snapshot()
        if snapshot is None:
            return
        requests = CounterMetricFamily(
            "wms_intake_geocoding_requests",
            "Geocoding requests by provider and outcome (ok, not_found, retryable_error, error).",
            labels=["provider", "outcome"],
        )
        for (provider, outcome), count in sorted(snapshot.requests.items()):
            requests.add_metric([provider, outcome], count)
        yield requests
        yield GaugeMetricFamily(
            "wms_intake_geocoding_pending_addresses",
            "Addresses queued for geocoding (including those waiting to retry).",
            value=snapshot.pending,
        )


class Metrics:
    def __init__(self) -> None:
        # Lags are measured (off the event loop) just before each scrape.
        self.latest_lags: dict[str, int] = {}
        self.latest_geocoding: GeocodingSnapshot | None = None
        # A ``*_created`` timestamp series per labelled counter only clutters the output.
        disable_created_metrics()
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "wms_intake_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "wms_intake_http_request_seconds",
            "HTTP request latency by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.orders = Counter(
            "wms_intake_orders",
            "Orders in stored batches by channel (webhook, pull) and outcome (created, updated, unchanged).",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "wms_intake_batch_size",
            "Orders per accepted batch.",
            ["channel"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self._lags_source: Callable[[], dict[str, int]] | None = None
        #: Each route's labelled children, looked up once: ``labels()`` checks
        #: and converts its arguments and takes a lock on every call.
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._live: list[Collector] = [
            _LagCollector(lambda: self._lags_source() if self._lags_source else self.latest_lags),
            _GeocodingCollector(lambda: self.latest_geocoding),
        ]
        for collector in self._live:
            self.registry.register(collector)

    def lags_from(self, lags: Callable[[], dict[str, int]]) -> None:
        """Measure the lags at each scrape (a worker's metrics server runs in its own thread)."""
        self._lags_source = lags

    def count_batches_of(self, app: IntakeApplication) -> None:
        """Count every batch ``app`` stores, where it is decided: webhook,
        Sync now and scheduled pulls alike, in ``serve`` or in ``worker``."""
        app.on_batch(self.count_batch)

    def count_request(self, method: str, route: str, status: int, seconds: float) -> None:
        children = self._request_children.get((method, route, status))
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(route))
            self._request_children[(method, route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_batch(self, channel: str, result: IngestResult) -> None:
        self.orders.labels(channel, "created").inc(result.created)
        self.orders.labels(channel, "updated").inc(result.updated)
        self.orders.labels(channel, "unchanged").inc(result.unchanged)
        self.batch_size.labels(channel).observe(len(result.orders))

    def render(self) -> bytes:
        shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not shared:
            return generate_latest(self.registry)
        # ``serve --processes N``: the counters of every process (written to
        # files in the shared directory) summed, and this process's live gauges.
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=shared)
        for collector in self._live:
            registry.register(collector)
        return generate_latest(registry)
