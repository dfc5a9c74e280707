"""The serializer's fastavro path writes exactly the bytes of confluent-kafka's AvroSerializer.

EventSerializer hands the first event of each type to AvroSerializer (schema id lookup) and
writes later ones with fastavro behind the same header; the relay and the workers rely on the
two being indistinguishable on the wire, for every schema of the catalog.
"""

from datetime import UTC, datetime

from confluent_kafka.schema_registry import topic_record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from schemas import catalog
from schemas.samples import sample_event
from schemas.serde import EventSerializer, schema_id_of


def variants(event_type: str) -> list[dict]:
    """The sample, plus one with every optional metadata set and one with millis as int."""
    base = sample_event(event_type)
    caused = sample_event(event_type, causation_id="c0ffee00-0000-4000-8000-000000000000",
                          aggregate_version=2**40, producer="wörker ✓")
    as_millis = sample_event(event_type)
    as_millis["occurred_at"] = int(datetime(2026, 1, 2, 3, 4, 5, 678000, UTC).timestamp() * 1000)
    return [base, caused, as_millis]


def test_fast_path_bytes_equal_confluents_serializer_for_every_event(registry_client):
    ours = EventSerializer(registry_client)
    checked = 0
    for name, spec in catalog.event_types().items():
        confluent = AvroSerializer(
            registry_client, spec.schema_str(),
            conf={"auto.register.schemas": False,
                  "subject.name.strategy": topic_record_subject_name_strategy},
        )
        ctx = SerializationContext(spec.topic, MessageField.VALUE)
        events = variants(name)
        # The first call goes through AvroSerializer itself; every later one is the fast path.
        ours.serialize(name, events[0])
        assert name in ours._fast, f"{name}: the fast path was not taken"
        for event in events * 2:
            expected = confluent(event, ctx)
            assert ours.serialize(name, event) == expected, name
            assert schema_id_of(expected) > 0
            checked += 1
    assert checked >= 3 * 2 * len(catalog.event_types())
