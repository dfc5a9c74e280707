"""The embedded runtime keeps schemas, topics and data across restarts."""

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from schemas import catalog, registry


def require_managed(stack, name):
    if name in {c.name for c in stack.components()}:
        return
    pytest.skip(f"{name} is an external service here; only the embedded runtime is restarted")


def test_registry_restart_keeps_schemas(stack, settings, registry_client):
    require_managed(stack, "schema-registry")
    spec = catalog.event_type("OrderPlaced")
    before = registry_client.get_latest_version(spec.subject).schema_id
    stack.stop("schema-registry")
    stack.start("schema-registry")
    fresh = registry.connect(settings)
    assert fresh.get_latest_version(spec.subject).schema_id == before
    assert set(fresh.get_subjects()) >= {e.subject for e in catalog.event_types().values()}


def test_broker_restart_keeps_topics_and_data(stack, settings, make_topic, unique):
    require_managed(stack, "kafka")
    topic = make_topic("restart", partitions=2)
    producer = Producer(settings.kafka_conf(**{"enable.idempotence": True, "acks": "all"}))
    for i in range(100):
        producer.produce(topic, str(i).encode(), key=str(i % 7).encode())
    assert producer.flush(30) == 0

    stack.stop("kafka")
    stack.start("kafka")

    metadata = AdminClient(settings.kafka_conf()).list_topics(timeout=10)
    assert topic in metadata.topics and "shop.orders" in metadata.topics
    consumer = Consumer(
        settings.kafka_conf(**{"group.id": f"restart-{unique}", "auto.offset.reset": "earliest"})
    )
    consumer.subscribe([topic])
    values = set()
    try:
        for _ in range(60):
            values |= {m.value() for m in consumer.consume(100, timeout=1) if not m.error()}
            if len(values) == 100:
                break
    finally:
        consumer.close()
    assert values == {str(i).encode() for i in range(100)}
