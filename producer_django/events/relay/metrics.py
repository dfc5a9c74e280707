"""Prometheus metrics of the relay, served by `manage.py relay_outbox --metrics-port PORT`.

Names follow Prometheus conventions (`_total`, `_seconds`); the Grafana dashboard in deploy/
reads them. The backlog gauges come from the same query as `/health/` (health.outbox_stats),
refreshed every few seconds rather than per batch: a count of pending rows is not free.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

BACKLOG_REFRESH_S = 5.0


class RelayMetrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.published = Counter(
            "pipeline_relay_events_published", "Outbox events acknowledged by Kafka",
            registry=self.registry,
        )
        self.failures = Counter(
            "pipeline_relay_publish_failures", "Deliveries that failed and will be retried",
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "pipeline_relay_batch_seconds", "One claim, produce and mark batch",
            registry=self.registry,
        )
        self.pending = Gauge(
            "pipeline_outbox_pending_rows", "Outbox rows not yet published",
            registry=self.registry,
        )
        self.oldest_age = Gauge(
            "pipeline_outbox_oldest_pending_age_seconds",
            "Age of the oldest unpublished outbox row (0 when none)", registry=self.registry,
        )
        self.ready = Gauge(
            "pipeline_relay_ready", "1 while the relay loop runs", registry=self.registry,
        )
        self._next_refresh = 0.0

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        start_http_server(port, addr=host, registry=self.registry)

    def batch(self, delivered: int, failed: int, seconds: float) -> None:
        self.published.inc(delivered)
        self.failures.inc(failed)
        self.batch_seconds.observe(seconds)

    def refresh_backlog(self, stats: Callable[[], object]) -> None:
        """`stats()` returns an object with `backlog` and `oldest_pending_age_s`."""
        now = time.monotonic()
        if now < self._next_refresh:
            return
        self._next_refresh = now + BACKLOG_REFRESH_S
        current = stats()
        self.pending.set(current.backlog)
        self.oldest_age.set(current.oldest_pending_age_s or 0.0)
