"""1% poison records in a stream: all in the dead-letter topic with their origin, none blocks."""

from __future__ import annotations

import struct

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from consumers import routing
from consumers.db import Database
from consumers.inbox import Inbox
from consumers.options import WorkerOptions
from consumers.shop.search import search
from consumers.shop.testing import search_upsert
from consumers.testing import WorkerThread, wait_until
from schemas.serde import EventSerializer, event_headers


def _read_all(settings, topic: str, expected: int, timeout_s: float = 30.0) -> list:
    consumer = Consumer(settings.kafka_conf(**{"group.id": f"{topic}-reader",
                                               "auto.offset.reset": "earliest"}))
    consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
    out = []
    try:
        wait_until(lambda: out.extend(m for m in consumer.consume(500, 0.5)
                                      if m.error() is None) or len(out) >= expected,
                   timeout_s, interval_s=0, what=f"{expected} records on {topic}")
    finally:
        consumer.close()
    return out


def test_poison_records_go_straight_to_the_dead_letters_with_origin(
    settings, registry_client, make_topic, unique, tmp_path
):
    topic = make_topic("poison", partitions=1)
    url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    serializer = EventSerializer(registry_client)
    good = [search_upsert(f"doc-{i}", f"Teapot {i}") for i in range(990)]
    unknown_id = struct.pack(">bI", 0, 987654321) + b"\x02ab"
    poison = {
        100 * k + 50: (unknown_id if k % 2 else b"\x07not avro at all")
        for k in range(10)
    }
    producer = Producer(settings.kafka_conf())
    g = iter(good)
    for offset in range(1000):
        if offset in poison:
            producer.produce(topic, key=b"poison", value=poison[offset])
        else:
            event = next(g)
            producer.produce(topic, key=event["document_id"].encode(),
                             value=serializer.serialize("SearchDocumentUpserted", event),
                             headers=event_headers("SearchDocumentUpserted", event))
    assert producer.flush(30) == 0

    group = f"poison-{unique}"
    worker = WorkerThread("search", settings, group_id=group, topics=[topic], database_url=url,
                          options=WorkerOptions(retry_delays_s=(1.0, 2.0)))
    try:
        wait_until(lambda: Inbox(Database(url), group).count() == 990, 60,
                   what="990 good records handled")
        dead = _read_all(settings, routing.dead_letter_topic(group), 10)
    finally:
        result = worker.stop()

    assert result.counts == {"handled": 990, "dead_lettered": 10}
    assert len(dead) == 10
    origins = set()
    for msg in dead:
        headers = dict(msg.headers())
        assert headers[routing.H_ORIGIN_TOPIC] == topic.encode()
        assert headers[routing.H_ORIGIN_PARTITION] == b"0"
        assert headers[routing.H_REASON] == routing.REASON_POISON.encode()
        assert headers[routing.H_ATTEMPT] == b"1"
        assert headers[routing.H_ERROR_TYPE] in (b"DeserializationError", b"UnknownSchemaError")
        offset = int(headers[routing.H_ORIGIN_OFFSET])
        assert msg.value() == poison[offset]
        origins.add(offset)
    assert origins == set(poison)
    assert len(search(Database(url), "Teapot", limit=2000)) == 990

    # The good records are readable by confluent-kafka's own AvroDeserializer too.
    deserializer = AvroDeserializer(registry_client)
    first = _read_all(settings, topic, 1)[0]
    decoded = deserializer(first.value(), SerializationContext(topic, MessageField.VALUE))
    assert decoded["title"] == "Teapot 0"
