"""Prometheus metrics of the lineage indexer, and one `/metrics` page for the whole process
(the indexer's own counters plus each of its workers' `consumers.metrics.WorkerMetrics`)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from consumers.metrics import READY_METRIC


class LineageMetrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.events = Counter(
            "pipeline_lineage_events_indexed_total", "Events newly recorded in the lineage table",
            registry=self.registry,
        )
        self.effects = Counter(
            "pipeline_lineage_effects_indexed_total", "Dead letters and retries recorded as "
            "effects, by outcome", ["outcome"], registry=self.registry,
        )
        self.pruned = Counter(
            "pipeline_lineage_pruned_rows_total", "Rows deleted to keep the tables bounded",
            ["table"], registry=self.registry,
        )
        self.prune_seconds = Histogram(
            "pipeline_lineage_prune_seconds", "Time of one prune", registry=self.registry,
        )


class _Merged:
    """A collector yielding the families of several registries, samples of one name merged
    (two workers both report `pipeline_worker_records_total`, with different labels)."""

    def __init__(self, registries: Iterable[CollectorRegistry]):
        self._registries = list(registries)

    def collect(self):
        families = {}
        for registry in self._registries:
            for family in registry.collect():
                if family.name in families:
                    families[family.name].samples.extend(family.samples)
                else:
                    families[family.name] = family
        return list(families.values())


def serve(registries: Iterable[CollectorRegistry], port: int, host: str = "127.0.0.1"):
    """Serve the merged registries on `host:port`; returns (server, thread) to shut down."""
    merged = CollectorRegistry(auto_describe=False)
    merged.register(_Merged(registries))
    return start_http_server(port, addr=host, registry=merged)


def stop(server) -> None:
    if server is not None:
        httpd, thread = server
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def indexer_ready(port: int, host: str = "127.0.0.1") -> bool:
    """True if the indexer serves metrics on `port` and every one of its workers consumes."""
    import httpx

    try:
        response = httpx.get(f"http://{host}:{port}/metrics", timeout=2)
    except httpx.HTTPError:
        return False
    states = [line.endswith(" 1.0") for line in response.text.splitlines()
              if line.startswith(READY_METRIC + "{")]
    return response.status_code == 200 and bool(states) and all(states)
