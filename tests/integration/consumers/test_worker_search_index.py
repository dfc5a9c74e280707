"""The search indexer in a worker: real broker, registry and SQLite database."""

from __future__ import annotations

from prometheus_client import generate_latest

from consumers.db import Database
from consumers.inbox import Inbox
from consumers.options import WorkerOptions
from consumers.shop.search import search
from consumers.shop.testing import search_upsert
from consumers.testing import WorkerThread, publish, wait_until
from schemas.serde import EventSerializer


def test_upserts_and_deletes_reach_the_full_text_index(settings, registry_client, make_topic,
                                                      unique, tmp_path):
    topic = make_topic("search")
    url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    serializer = EventSerializer(registry_client)
    docs = [search_upsert(f"product:sku-{i}", f"Blue kettle {i}", "stainless steel")
            for i in range(200)]
    publish(settings, serializer, topic, "SearchDocumentUpserted", docs)
    gone = {**search_upsert("product:sku-0", "ignored"), "aggregate_version": 2}
    gone = {k: v for k, v in gone.items() if k not in ("kind", "title", "body")}
    publish(settings, serializer, topic, "SearchDocumentDeleted", [gone])
    # A redelivered event (same event id) must not apply twice.
    publish(settings, serializer, topic, "SearchDocumentUpserted", docs[:50])

    group = f"search-{unique}"
    worker = WorkerThread("search", settings, group_id=group, topics=[topic], database_url=url,
                          options=WorkerOptions(retry_delays_s=(1.0,),
                                                statistics_interval_ms=1000))
    db = Database(url)
    try:
        wait_until(lambda: Inbox(db, group).count() == 201, 60, what="201 events in the inbox")
        wait_until(lambda: worker.worker.metrics.value("duplicate") == 50, 30,
                   what="50 duplicates skipped")
        # Consumer lag per partition, from librdkafka's statistics, drops to 0.
        lag = f'pipeline_worker_consumer_lag{{group="{group}",partition="0",topic="{topic}"'
        wait_until(lambda: any(line.startswith(lag) and line.endswith(" 0.0") for line in
                               generate_latest(worker.worker.metrics.registry).decode()
                               .splitlines()), 30, what="consumer lag 0 in the metrics")
    finally:
        result = worker.stop()
    hits = search(db, "kettle", limit=500)
    assert len(hits) == 199
    assert {"document_id": "product:sku-7", "kind": "product", "title": "Blue kettle 7"} in hits
    assert not [h for h in hits if h["document_id"] == "product:sku-0"]
    assert result.counts == {"handled": 201, "duplicate": 50}
