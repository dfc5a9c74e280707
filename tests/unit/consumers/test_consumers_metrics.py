from __future__ import annotations

import json

from prometheus_client import generate_latest

from consumers.metrics import WorkerMetrics


def test_consumer_lag_comes_from_librdkafka_statistics():
    metrics = WorkerMetrics("search", "worker-search")
    metrics.on_statistics(json.dumps({"topics": {"shop.search": {"partitions": {
        "0": {"consumer_lag": 12}, "1": {"consumer_lag": -1}, "-1": {"consumer_lag": 5}}}}}))
    metrics.count("handled", 3)
    text = generate_latest(metrics.registry).decode()
    assert ('pipeline_worker_consumer_lag{group="worker-search",partition="0",'
            'topic="shop.search",worker="search"} 12.0') in text
    assert 'partition="1"' not in text and 'partition="-1"' not in text
    assert metrics.value("handled") == 3
    assert 'outcome="dead_lettered",worker="search"} 0.0' in text


def test_unparseable_statistics_are_ignored():
    WorkerMetrics("x", "g").on_statistics("{not json")
