"""Every metric the pipeline exposes follows the Prometheus conventions: counters end in
`_total`, durations are in `_seconds`; and a stream app's /metrics reads faust's monitor."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from consumers.lineage.metrics import LineageMetrics
from consumers.metrics import WorkerMetrics


def _families(registry):
    return list(text_string_to_metric_families(generate_latest(registry).decode()))


def _check(families):
    for family in families:
        assert family.name.startswith("pipeline_"), family.name
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples), family
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name


def test_worker_and_lineage_metrics_follow_the_conventions():
    worker = WorkerMetrics("w", "worker-w")
    worker.count("handled")
    worker.observe_batch(0.01)
    _check(_families(worker.registry))
    _check(_families(LineageMetrics().registry))


@pytest.fixture
def stream_app(tmp_path):
    pytest.importorskip("faust")
    from streams.base import make_app
    from streams.settings import from_env

    settings = from_env("metered", environ={"STREAMS_STORE": "memory",
                                            "STREAMS_DATA_DIR": str(tmp_path)})
    return make_app(settings), settings


def test_stream_app_metrics_read_the_monitor(stream_app):
    from faust.types import TP

    from streams.metrics import StreamCollector

    app, settings = stream_app
    monitor = app.monitor
    monitor.events_total = 7
    monitor.messages_sent_by_topic[settings.dead_letter_topic] += 2
    monitor.tp_end_offsets[TP("in", 1)] = 10
    monitor.tp_committed_offsets[TP("in", 1)] = 4
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StreamCollector(app, settings.dead_letter_topic))
    families = _families(registry)
    _check(families)
    text = generate_latest(registry).decode()
    assert 'pipeline_stream_events_total{app="streams-metered"} 7.0' in text
    assert 'pipeline_stream_dead_letters_total{app="streams-metered"} 2.0' in text
    assert ('pipeline_stream_consumer_lag{app="streams-metered",partition="1",topic="in"} 6.0'
            in text)
    assert 'pipeline_stream_ready{app="streams-metered"} 0.0' in text
