"""Helpers of the replay tests: build catalog events and produce them with chosen timestamps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer

from schemas import catalog
from schemas.serde import EventSerializer, event_headers


def make_event(event_type: str, **payload) -> dict:
    spec = catalog.event_type(event_type)
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC),
        "aggregate_id": str(payload.get(spec.key_field, "agg")),
        "aggregate_version": 1,
        "correlation_id": str(uuid.uuid4()),
        "causation_id": None,
        "producer": "replay-tests",
        **payload,
    }


def order(i: int, **overrides) -> dict:
    payload = {
        "order_id": f"o-{i}",
        "user_id": f"u-{i % 7}",
        "lines": [{"sku": f"SKU-{i % 5}", "quantity": 1 + i % 3, "unit_price_cents": 250}],
        "total_cents": 250 * (1 + i % 3),
    }
    payload.update(overrides)
    return make_event("OrderPlaced", **payload)


def user(i: int) -> dict:
    return make_event("UserRegistered", user_id=f"u-{i}", email=f"user{i}@example.com",
                      name=f"User Number {i}")


class EventProducer:
    """Produces catalog events (Confluent wire format) and remembers where each one landed."""

    def __init__(self, settings, registry_client):
        self._serializer = EventSerializer(registry_client)
        # Idempotent, so that a retried batch cannot land behind a later one: the tests read
        # offsets and timestamps in the order they were sent.
        self._producer = Producer(settings.kafka_conf(**{"linger.ms": 5,
                                                         "enable.idempotence": True}))

    def send(self, topic: str, event_type: str, event: dict, *, partition: int | None = None,
             timestamp_ms: int | None = None, value: bytes | None = None):
        spec = catalog.event_type(event_type)
        kwargs = {}
        if partition is not None:
            kwargs["partition"] = partition
        if timestamp_ms is not None:
            kwargs["timestamp"] = timestamp_ms
        landed = []
        self._producer.produce(
            topic,
            key=str(event[spec.key_field]).encode(),
            value=value if value is not None else self._serializer.serialize(event_type, event),
            headers=event_headers(event_type, event),
            on_delivery=lambda err, msg: landed.append((err, msg)),
            **kwargs,
        )
        return landed

    def send_tombstone(self, topic: str, key: bytes, partition: int) -> None:
        self._producer.produce(topic, key=key, value=None, partition=partition)
        assert self._producer.flush(30) == 0

    def send_all(self, topic: str, items) -> list[tuple[int, int, int]]:
        """items: (event_type, event, partition, timestamp_ms); returns (partition, offset, ts)."""
        pending = [self.send(topic, t, e, partition=p, timestamp_ms=ts) for t, e, p, ts in items]
        assert self._producer.flush(30) == 0
        coords = []
        for landed in pending:
            err, msg = landed[0]
            assert err is None, err
            coords.append((msg.partition(), msg.offset(), msg.timestamp()[1]))
        return coords


@pytest.fixture
def producer(settings, registry_client):
    return EventProducer(settings, registry_client)
