"""GET /metrics of a stream app: Prometheus text read from faust's own monitor at scrape time.

    pipeline_stream_events_total{app}                        events handed to agents
    pipeline_stream_messages_received_total{app,topic}       records consumed
    pipeline_stream_messages_sent_total{app,topic}           records produced
    pipeline_stream_dead_letters_total{app}                  records sent to `<app id>.dlq`
    pipeline_stream_consumer_lag{app,topic,partition}        end offset - committed offset
    pipeline_stream_table_keys_updated_total{app,table}      (and _deleted_total)
    pipeline_stream_table_keys{app,table}                    size, for in-memory tables only
                                                             (counting a RocksDB table scans it)
    pipeline_stream_rebalances_total{app}
    pipeline_stream_ready{app}                               1 once `streams.web.ready`

Nothing is counted twice: the page reads the counters faust keeps anyway.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from streams.web import ready

PATH = "/metrics"


def add_metrics(app, dead_letter_topic: str) -> None:
    """Register GET /metrics on `app` (a faust App)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StreamCollector(app, dead_letter_topic))

    @app.page(PATH, name="prometheus-metrics")
    async def metrics(web, request):
        return web.bytes(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


class StreamCollector:
    def __init__(self, app, dead_letter_topic: str):
        self.app = app
        self.dead_letter_topic = dead_letter_topic

    def collect(self):
        app_id = self.app.conf.id
        monitor = self.app.monitor

        def family(kind, name, doc, labels=()):
            return kind(name, doc, labels=["app", *labels])

        events = family(CounterMetricFamily, "pipeline_stream_events", "Events handed to agents")
        events.add_metric([app_id], monitor.events_total)
        received = family(CounterMetricFamily, "pipeline_stream_messages_received",
                          "Records consumed", ["topic"])
        for topic, n in sorted(monitor.messages_received_by_topic.items()):
            received.add_metric([app_id, topic], n)
        sent = family(CounterMetricFamily, "pipeline_stream_messages_sent", "Records produced",
                      ["topic"])
        for topic, n in sorted(monitor.messages_sent_by_topic.items()):
            sent.add_metric([app_id, topic], n)
        dead = family(CounterMetricFamily, "pipeline_stream_dead_letters",
                      "Records sent to the app's dead-letter topic")
        dead.add_metric([app_id], monitor.messages_sent_by_topic.get(self.dead_letter_topic, 0))
        lag = family(GaugeMetricFamily, "pipeline_stream_consumer_lag",
                     "End offset minus committed offset", ["topic", "partition"])
        committed = monitor.tp_committed_offsets
        for tp, end in sorted(monitor.tp_end_offsets.items()):
            if tp in committed:
                lag.add_metric([app_id, tp.topic, str(tp.partition)], max(0, end - committed[tp]))
        yield from (events, received, sent, dead, lag)
        yield from self._tables(app_id, monitor)
        rebalances = family(CounterMetricFamily, "pipeline_stream_rebalances", "Rebalances")
        rebalances.add_metric([app_id], monitor.rebalances or 0)
        up = family(GaugeMetricFamily, "pipeline_stream_ready",
                    "1 once partitions are assigned and tables recovered")
        up.add_metric([app_id], 1 if ready(self.app) else 0)
        yield from (rebalances, up)

    def _tables(self, app_id, monitor):
        from faust.stores.memory import Store as MemoryStore

        updated = CounterMetricFamily("pipeline_stream_table_keys_updated",
                                      "Table keys written", labels=["app", "table"])
        deleted = CounterMetricFamily("pipeline_stream_table_keys_deleted",
                                      "Table keys deleted", labels=["app", "table"])
        size = GaugeMetricFamily("pipeline_stream_table_keys", "Keys in an in-memory table",
                                 labels=["app", "table"])
        for table, state in monitor.tables.items():
            name = getattr(table, "name", str(table))
            updated.add_metric([app_id, name], state.keys_updated)
            deleted.add_metric([app_id, name], state.keys_deleted)
        for name, table in self.app.tables.items():
            store = table.data
            if isinstance(store, MemoryStore):
                size.add_metric([app_id, name], len(store.data))
        yield from (updated, deleted, size)
