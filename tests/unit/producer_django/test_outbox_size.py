"""Events over their topic's max.message.bytes are refused before anything is written."""

import io
import random
from datetime import UTC, datetime

import orjson
import pytest
from fastavro import parse_schema, schemaless_writer

from schemas import outbox
from schemas.errors import ConfigError, SerializationError


def stock_row(reason: str) -> outbox.OutboxRow:
    return outbox.new_row(
        "StockAdjusted", {"sku": "S-1", "delta": 1, "reason": reason},
        event_id="5b0c4a9e-8a8e-4c53-9d0e-9f6a8d1f0c11", occurred_at=datetime.now(UTC),
        correlation_id="c0ffee00-0000-4000-8000-000000000000", causation_id=None,
        producer="test",
    )


def test_broker_default_applies_when_the_catalog_sets_no_limit():
    assert outbox.max_message_bytes("shop.inventory") == outbox.BROKER_DEFAULT_MAX_MESSAGE_BYTES


def test_an_event_over_the_limit_is_refused_naming_type_size_limit_and_fix():
    with pytest.raises(outbox.EventTooLarge) as caught:
        outbox.check_size(stock_row("x" * 1_100_000))
    error = caught.value
    assert isinstance(error, SerializationError)
    assert error.size > error.limit == 1048588 and error.topic == "shop.inventory"
    text = str(error)
    assert "StockAdjusted" in text and str(error.size) in text and "1048588" in text
    assert "max.message.bytes" in text and "pipeline topics apply" in text


@pytest.mark.parametrize("size", [10, 300_000, 400_000, 1_040_000])
def test_events_that_fit_pass_whether_or_not_the_bound_vouches_for_them(size):
    outbox.check_size(stock_row("x" * size))  # 400k and 1.04M take the exact path


def test_insert_refuses_before_touching_the_cursor():
    class NoCursor:
        def execute(self, *args):
            raise AssertionError("nothing may be written")

    with pytest.raises(outbox.EventTooLarge):
        outbox.insert(NoCursor(), "sqlite", stock_row("x" * 1_100_000), "now")


def test_catalog_config_sets_the_limit_per_topic_and_by_default(tmp_path):
    path = tmp_path / "topics.toml"
    path.write_text(
        '[defaults]\nconfig = { "max.message.bytes" = "2000000" }\n'
        '[topics."a"]\nconfig = { "max.message.bytes" = 5000 }\n'
        '[topics."b"]\nretention_ms = 1\n'
    )
    assert outbox._limits(path) == {"a": 5000}
    assert outbox._default_limit(path) == 2_000_000
    bad = tmp_path / "bad.toml"
    bad.write_text('[topics."a"]\nconfig = { "max.message.bytes" = "lots" }\n')
    with pytest.raises(ConfigError, match="max.message.bytes must be a number"):
        outbox._limits(bad)


# The cheap bound: an Avro body is at most 3x its JSON text plus slack, whatever the types.
_SCHEMA = parse_schema({
    "type": "record", "name": "Dense", "fields": [
        {"name": "doubles", "type": {"type": "array", "items": ["null", "double"]}},
        {"name": "floats", "type": {"type": "array", "items": "float"}},
        {"name": "flags", "type": {"type": "array", "items": "boolean"}},
        {"name": "nested", "type": {"type": "array", "items": {"type": "array",
                                                               "items": "double"}}},
        {"name": "map", "type": {"type": "map", "values": ["null", "double"]}},
        {"name": "longs", "type": {"type": "array", "items": "long"}},
        {"name": "text", "type": "string"},
        {"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["A", "B"]}},
    ]})


def _dense(rng: random.Random) -> dict:
    n = rng.randint(0, 30)
    return {
        "doubles": [rng.choice([0.0, None, 1.5]) for _ in range(n)],
        "floats": [0.0] * rng.randint(0, 20),
        "flags": [True] * rng.randint(0, 20),
        "nested": [[0.0] * rng.randint(0, 3) for _ in range(rng.randint(0, 10))],
        "map": {str(i): 0.0 for i in range(rng.randint(0, 10))},
        "longs": [rng.choice([0, -1, 2**62, 63]) for _ in range(n)],
        "text": rng.choice(["", "a", "ü" * n, "\U0001f600" * n]),
        "kind": "A",
    }


def test_avro_never_exceeds_the_json_bound():
    rng = random.Random(7)
    for _ in range(500):
        record = _dense(rng)
        buffer = io.BytesIO()
        schemaless_writer(buffer, _SCHEMA, record)
        # The JSON as insert() measures it: orjson's UTF-8 bytes (no \u escapes, no spaces).
        limit = outbox._AVRO_PER_JSON_BYTE * len(orjson.dumps(record)) + outbox._AVRO_SLACK_BYTES
        assert buffer.tell() <= limit
