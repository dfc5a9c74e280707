"""Null records never crash a worker (streams/README.md, "Null values and null keys").

Tombstones interleaved with valid events, and valid events without a key: every valid event is
handled, every tombstone is in the group's dead-letter topic with its origin and reason "null
value", the partition moves on and the worker keeps running. For a transactional handler and
for one with external effects (the two paths of the runtime).
"""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from consumers import routing
from consumers.db import Database
from consumers.inbox import Inbox
from consumers.options import WorkerOptions
from consumers.shop.search import search
from consumers.shop.testing import cache_invalidated, search_upsert
from consumers.testing import WorkerThread, wait_until
from schemas.serde import EventSerializer, event_headers

pytestmark = pytest.mark.integration

VALID = 200
TOMBSTONE_EVERY = 4
KEYLESS_EVERY = 25

WORKERS = {
    # worker name: (event type, event factory, key field)
    "search": ("SearchDocumentUpserted", lambda i: search_upsert(f"doc-{i}", f"Kettle {i}"),
               "document_id"),
    "cache": ("CacheInvalidated", lambda i: cache_invalidated([f"page-{i}"]), "aggregate_id"),
}


def _read(settings, topic: str, expected: int, partitions: int = 3) -> list:
    consumer = Consumer(settings.kafka_conf(**{"group.id": f"{topic}-reader",
                                               "auto.offset.reset": "earliest"}))
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out = []
    try:
        wait_until(lambda: out.extend(m for m in consumer.consume(500, 0.5)
                                      if m.error() is None) or len(out) >= expected,
                   30, interval_s=0, what=f"{expected} records on {topic}")
    finally:
        consumer.close()
    return out


@pytest.mark.parametrize("name", sorted(WORKERS))
def test_tombstones_are_dead_lettered_and_every_event_is_handled(
    name, settings, registry_client, make_topic, unique, tmp_path
):
    event_type, make_event, key_field = WORKERS[name]
    topic = make_topic(f"tombstones-{name}", partitions=2)
    url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    serializer = EventSerializer(registry_client)
    tombstones: list[tuple[int, int]] = []
    errors: list[str] = []

    def landed(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            tombstones.append((msg.partition(), msg.offset()))

    producer = Producer(settings.kafka_conf(**{"enable.idempotence": True}))
    for i in range(VALID):
        event = make_event(i)
        key = str(event[key_field]).encode()
        if i % TOMBSTONE_EVERY == 0:
            # Same key, so right in front of the event in its partition.
            producer.produce(topic, key=key, value=None, on_delivery=landed)
        producer.produce(topic, key=None if i % KEYLESS_EVERY == 0 else key,
                         value=serializer.serialize(event_type, event),
                         headers=event_headers(event_type, event))
    assert producer.flush(30) == 0 and errors == []
    assert len(tombstones) == VALID // TOMBSTONE_EVERY

    group = f"tombstones-{name}-{unique}"
    worker = WorkerThread(name, settings, group_id=group, topics=[topic], database_url=url,
                          options=WorkerOptions(retry_delays_s=(1.0,)))
    try:
        wait_until(lambda: Inbox(Database(url), group).count() == VALID, 60,
                   what=f"{VALID} valid events handled")
        dead = _read(settings, routing.dead_letter_topic(group), len(tombstones))
        assert worker.alive()
    finally:
        result = worker.stop()

    assert result.counts == {"handled": VALID, "dead_lettered": len(tombstones)}
    origins = []
    for msg in dead:
        headers = {k: v.decode() for k, v in msg.headers()}
        assert msg.value() is None
        assert headers[routing.H_REASON] == "null value"
        assert headers[routing.H_ORIGIN_TOPIC] == topic
        assert headers[routing.H_ATTEMPT] == "1"  # no retries: it can never succeed
        assert headers[routing.H_ERROR_TYPE] == "DeserializationError"
        assert "tombstone" in headers[routing.H_ERROR_MESSAGE]
        origins.append((int(headers[routing.H_ORIGIN_PARTITION]),
                        int(headers[routing.H_ORIGIN_OFFSET])))
    assert sorted(origins) == sorted(tombstones)
    if name == "search":
        assert len(search(Database(url), "Kettle", limit=1000)) == VALID
