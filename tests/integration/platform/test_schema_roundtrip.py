"""Every catalog schema round-trips through the real registry and broker."""

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from schemas import catalog
from schemas.errors import SerializationError, UnknownSchemaError
from schemas.samples import sample_event
from schemas.serde import EventDeserializer, EventSerializer, event_headers


def consume_all(settings, topic, count, group):
    consumer = Consumer(settings.kafka_conf(**{"group.id": group, "auto.offset.reset": "earliest"}))
    consumer.subscribe([topic])
    records = []
    try:
        for _ in range(60):
            records += [m for m in consumer.consume(count, timeout=1) if not m.error()]
            if len(records) >= count:
                break
    finally:
        consumer.close()
    return records


def test_every_event_round_trips_and_decodes_with_confluents_deserializer(
    settings, registry_client, make_topic, unique
):
    topic = make_topic("roundtrip")
    serializer = EventSerializer(registry_client)
    producer = Producer(settings.kafka_conf())
    sent = {}
    for name in catalog.event_types():
        event = sample_event(name)
        spec = catalog.event_type(name)
        value = serializer.serialize(name, event)
        producer.produce(
            topic,
            value,
            key=event[spec.key_field] if spec.key_field in event else event["aggregate_id"],
            headers=event_headers(name, event),
        )
        sent[event["event_id"]] = (name, event)
    assert producer.flush(30) == 0

    # confluent-kafka's own deserializer, given only the registry URL.
    plain = AvroDeserializer(SchemaRegistryClient({"url": settings.schema_registry_url}))
    ours = EventDeserializer(registry_client)
    records = consume_all(settings, topic, len(sent), f"roundtrip-{unique}")
    assert len(records) == len(sent)
    for record in records:
        decoded = plain(record.value(), SerializationContext(topic, MessageField.VALUE))
        name, event = sent[decoded["event_id"]]
        headers = dict(record.headers())
        assert headers["event_type"] == name.encode()
        assert headers["event_id"] == event["event_id"].encode()
        assert headers["correlation_id"] == event["correlation_id"].encode()
        assert decoded == event, name
        # First decode per schema id takes confluent's path, the second our cached fast path.
        for _ in range(2):
            event_type, ours_decoded = ours.decode(record.value())
            assert event_type == name and ours_decoded == decoded


def test_unknown_schema_id_is_reported_as_such(registry_client):
    with pytest.raises(UnknownSchemaError, match="schema id 987654 is not known"):
        EventDeserializer(registry_client).decode(b"\x00" + (987654).to_bytes(4, "big") + b"\x02")


def test_serialize_names_the_bad_field(registry_client):
    event = sample_event("OrderPlaced")
    event["lines"][0]["quantity"] = "two"
    with pytest.raises(SerializationError, match="'quantity'"):
        EventSerializer(registry_client).serialize("OrderPlaced", event)
