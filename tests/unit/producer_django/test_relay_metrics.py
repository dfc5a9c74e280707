"""The relay's Prometheus metrics: names the dashboard reads, batch counts, backlog gauges."""

from __future__ import annotations

from types import SimpleNamespace

from prometheus_client import generate_latest

from producer_django.events.relay.metrics import RelayMetrics


def test_batches_and_backlog_are_exposed_under_the_dashboards_names():
    metrics = RelayMetrics()
    metrics.batch(delivered=7, failed=2, seconds=0.05)
    metrics.refresh_backlog(lambda: SimpleNamespace(backlog=3, oldest_pending_age_s=12.5))
    # Within the refresh interval the (costly) stats are not read again.
    metrics.refresh_backlog(lambda: (_ for _ in ()).throw(AssertionError("queried twice")))
    text = generate_latest(metrics.registry).decode()
    assert "pipeline_relay_events_published_total 7.0" in text
    assert "pipeline_relay_publish_failures_total 2.0" in text
    assert "pipeline_relay_batch_seconds_count 1.0" in text
    assert "pipeline_outbox_pending_rows 3.0" in text
    assert "pipeline_outbox_oldest_pending_age_seconds 12.5" in text
