"""Prometheus metrics of one worker, in a registry of its own (several workers may share a
process: tests, the lineage indexer).

Names follow the Prometheus conventions: counters end in `_total`, durations are `_seconds`,
a lag is a count of records (no unit suffix). The exposed names are the constants below;
dashboards (deploy/grafana) and health checks use them.
"""

from __future__ import annotations

import json
import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

logger = logging.getLogger(__name__)

OUTCOMES = ("handled", "duplicate", "retried", "dead_lettered")

RECORDS_METRIC = "pipeline_worker_records_total"
FAILURES_METRIC = "pipeline_worker_failures_total"
LAG_METRIC = "pipeline_worker_consumer_lag"
BATCH_METRIC = "pipeline_worker_batch_seconds"
READY_METRIC = "pipeline_worker_ready"


class WorkerMetrics:
    def __init__(self, worker: str, group: str):
        self.worker = worker
        self.registry = CollectorRegistry()
        labels = {"worker": worker, "group": group}
        self._labels = labels
        self.records = Counter(
            RECORDS_METRIC, "Records by outcome: handled, duplicate (already in the "
            "inbox), retried, dead_lettered", [*labels, "outcome"], registry=self.registry,
        )
        self.failures = Counter(
            FAILURES_METRIC, "Handler or decode failures by exception type",
            [*labels, "error_type"], registry=self.registry,
        )
        self.lag = Gauge(
            LAG_METRIC, "Records behind the partition end (from librdkafka "
            "statistics)", [*labels, "topic", "partition"], registry=self.registry,
        )
        self.batch_seconds = Histogram(
            BATCH_METRIC, "Time to handle one consumed batch", list(labels),
            registry=self.registry,
        )
        self.ready = Gauge(
            READY_METRIC, "1 once the worker consumes", list(labels),
            registry=self.registry,
        )
        for outcome in OUTCOMES:
            self.records.labels(**labels, outcome=outcome)
        self.ready.labels(**labels).set(0)
        self._server = None

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        self._server = start_http_server(port, addr=host, registry=self.registry)

    def close(self) -> None:
        """Stop serving (if `serve` was called), releasing the port; idempotent."""
        if self._server is not None:
            server, thread = self._server
            self._server = None
            server.shutdown()
            server.server_close()
            thread.join(5)

    def count(self, outcome: str, n: int = 1) -> None:
        self.records.labels(**self._labels, outcome=outcome).inc(n)

    def failed(self, error: BaseException) -> None:
        self.failures.labels(**self._labels, error_type=type(error).__name__).inc()

    def set_ready(self, ready: bool) -> None:
        self.ready.labels(**self._labels).set(1 if ready else 0)

    def observe_batch(self, seconds: float) -> None:
        self.batch_seconds.labels(**self._labels).observe(seconds)

    def on_statistics(self, stats_json: str) -> None:
        """librdkafka `stats_cb`: per-partition consumer_lag."""
        try:
            stats = json.loads(stats_json)
        except ValueError:
            logger.warning("unparseable librdkafka statistics ignored")
            return
        for topic, tstats in stats.get("topics", {}).items():
            for pid, pstats in tstats.get("partitions", {}).items():
                lag = pstats.get("consumer_lag", -1)
                if pid == "-1" or lag is None or lag < 0:
                    continue
                self.lag.labels(**self._labels, topic=topic, partition=pid).set(lag)

    def value(self, outcome: str) -> float:
        return self.records.labels(**self._labels, outcome=outcome)._value.get()


def worker_ready(port: int, host: str = "127.0.0.1") -> bool:
    """True if a worker serves metrics on `port` and reports itself consuming."""
    import httpx

    try:
        response = httpx.get(f"http://{host}:{port}/metrics", timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and any(
        line.startswith(READY_METRIC + "{") and line.endswith(" 1.0")
        for line in response.text.splitlines()
    )
