"""The Grafana dashboard and the Prometheus scrape config in deploy/ match what the processes
expose and the services docker-compose.yml runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from consumers.lineage.metrics import LineageMetrics
from consumers.metrics import WorkerMetrics

ROOT = Path(__file__).resolve().parents[3]
# The relay's metrics (producer_django/events/relay, `relay_outbox --metrics-port`).
RELAY = {"pipeline_relay_events_published_total", "pipeline_outbox_pending_rows",
         "pipeline_outbox_oldest_pending_age_seconds"}
STREAMS = {"pipeline_stream_events_total", "pipeline_stream_dead_letters_total",
           "pipeline_stream_consumer_lag", "pipeline_stream_ready"}


def _exposed() -> set[str]:
    names = set(RELAY | STREAMS)
    for registry in (WorkerMetrics("w", "g").registry, LineageMetrics().registry):
        for family in registry.collect():
            suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
            names |= {family.name + s for s in suffixes.get(family.type, ("",))}
    return names


def test_every_dashboard_query_uses_exposed_metrics():
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/event-pipeline.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\bpipeline_[a-z_]+\b", e)}
    assert used and used <= _exposed(), sorted(used - _exposed())
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("lag", "throughput", "dead letters", "outbox backlog"):
        assert topic in titles, topic


def test_scrape_targets_are_compose_services_on_their_ports():
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert {"prometheus", "grafana", "lineage"} <= set(services)
    for job in config["scrape_configs"]:
        for target in job["static_configs"][0]["targets"]:
            host, port = target.split(":")
            assert host in services, target
            command = " ".join(services[host].get("command", []))
            environment = services[host].get("environment", {})
            assert port in command or environment.get("STREAMS_WEB_PORT") == port or (
                host == "relay"), target
