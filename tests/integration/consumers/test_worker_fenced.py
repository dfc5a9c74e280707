"""A static member fenced by the broker (a fatal consumer error) is replaced, not left stuck.

After the broker holding a group's coordinator dies, librdkafka may join again while the new
coordinator still holds the old member, and the broker fences the consumer: a fatal error
after which that client consumes nothing. Here a second client with the worker's
group.instance.id fences it the same way. The worker must close the failed consumer, join as
a new one and go on: every event handled exactly once (the inbox drops redeliveries).
"""

from __future__ import annotations

import time

from confluent_kafka import Consumer

from consumers.db import Database
from consumers.inbox import Inbox
from consumers.options import WorkerOptions
from consumers.shop.testing import search_upsert
from consumers.testing import WorkerThread, publish, wait_until
from schemas.serde import EventSerializer


def test_a_fenced_worker_replaces_its_consumer_and_loses_nothing(
    settings, registry_client, make_topic, unique, tmp_path
):
    topic = make_topic("search-fenced", partitions=3)
    url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    group = f"search-fenced-{unique}"
    instance = f"search-fenced-{unique}-0"
    serializer = EventSerializer(registry_client)
    docs = [search_upsert(f"doc-{i}", f"Lamp {i}") for i in range(400)]
    publish(settings, serializer, topic, "SearchDocumentUpserted", docs[:200])
    worker = WorkerThread("search", settings, group_id=group, topics=[topic], database_url=url,
                          options=WorkerOptions(retry_delays_s=(1.0,), batch_size=50,
                                                instance_id=instance))
    db = Database(url)
    try:
        wait_until(lambda: Inbox(db, group).count() == 200, 60, what="the first 200 handled")
        # Another client joining with the same instance id (and the worker's assignment
        # strategy) takes the member over: the worker's next heartbeat or commit is answered
        # FENCED_INSTANCE_ID (fatal).
        intruder = Consumer(settings.kafka_conf(**{
            "group.id": group, "group.instance.id": instance, "session.timeout.ms": 10000,
            "enable.auto.commit": False, "auto.offset.reset": "latest",
            "partition.assignment.strategy": "cooperative-sticky"}))
        intruder.subscribe([topic])
        try:
            deadline = time.monotonic() + 60
            while worker.worker.result.consumer_replacements == 0 and time.monotonic() < deadline:
                intruder.poll(0.5)
        finally:
            intruder.close()
        assert worker.worker.result.consumer_replacements >= 1, "the worker was never fenced"
        publish(settings, serializer, topic, "SearchDocumentUpserted", docs[200:])
        wait_until(lambda: Inbox(db, group).count() == 400, 120,
                   what="the replaced consumer to handle the rest")
    finally:
        result = worker.stop()
    assert result.counts.get("handled", 0) == 400
