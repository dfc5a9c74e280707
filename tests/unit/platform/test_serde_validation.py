import uuid
from datetime import UTC, datetime

import pytest

from schemas.errors import DeserializationError, SerializationError
from schemas.serde import EventSerializer, event_headers, schema_id_of


def user(**overrides):
    event = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC),
        "aggregate_id": "u1",
        "aggregate_version": 1,
        "correlation_id": "c1",
        "causation_id": None,
        "producer": "tests",
        "user_id": "u1",
        "email": "a@example.com",
        "name": "Ada",
    }
    event.update(overrides)
    return event


def test_valid_event_passes_without_a_registry():
    EventSerializer(registry=None).validate("UserRegistered", user())


def test_missing_field_is_named():
    event = user()
    del event["email"]
    with pytest.raises(SerializationError, match="'email'") as info:
        EventSerializer(registry=None).validate("UserRegistered", event)
    assert info.value.field == "email"


def test_wrong_type_is_named():
    with pytest.raises(SerializationError, match="'aggregate_version'.*expected long"):
        EventSerializer(registry=None).validate("UserRegistered", user(aggregate_version="one"))


def test_naive_datetime_is_rejected():
    with pytest.raises(SerializationError, match="timezone-aware"):
        EventSerializer(registry=None).validate(
            "UserRegistered", user(occurred_at=datetime(2024, 1, 1))
        )


def test_unknown_event_type():
    with pytest.raises(SerializationError, match="unknown event type 'Nope'"):
        EventSerializer(registry=None).validate("Nope", user())


def test_headers_repeat_routing_metadata():
    event = user(traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    headers = dict(event_headers("UserRegistered", event))
    assert headers["event_type"] == b"UserRegistered"
    assert headers["event_id"] == event["event_id"].encode()
    assert headers["correlation_id"] == b"c1"
    assert headers["traceparent"].startswith(b"00-")


@pytest.mark.parametrize(
    "data, message",
    [
        (None, "tombstone"),
        (b"\x00\x00", "too short"),
        (b"\x07\x00\x00\x00\x01xx", "bad magic byte 7"),
    ],
)
def test_wire_format_errors_say_why(data, message):
    with pytest.raises(DeserializationError, match=message):
        schema_id_of(data)


def test_unknown_schema_id_is_asked_of_the_registry_once():
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    from schemas.errors import UnknownSchemaError
    from schemas.serde import EventDeserializer

    class ForgetfulRegistry:
        calls = 0

        def get_schema(self, schema_id, *args, **kwargs):
            ForgetfulRegistry.calls += 1
            raise SchemaRegistryError(404, 40403, "Schema not found")

    deserializer = EventDeserializer(ForgetfulRegistry())
    record = b"\x00" + (4242).to_bytes(4, "big") + b"\x02"
    for _ in range(3):
        with pytest.raises(UnknownSchemaError, match="schema id 4242"):
            deserializer.decode(record)
    assert ForgetfulRegistry.calls == 1
