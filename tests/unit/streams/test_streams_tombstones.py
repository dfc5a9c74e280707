"""The null-record policy of the streams toolkit, without a broker: a tombstone on an event topic
is refused before any agent sees it and dead-lettered with its origin; a null key is refused
where the topic needs its key; `allow_empty` hands tombstones to the agent (table topics)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

import faust
import pytest
from faust.exceptions import KeyDecodeError, ValueDecodeError
from faust.types.tuples import Message

from schemas.deadletter import (
    H_ERROR_TYPE,
    H_GROUP,
    H_ORIGIN_OFFSET,
    H_ORIGIN_PARTITION,
    H_ORIGIN_TOPIC,
    H_REASON,
)
from streams.codec import REASON_NULL_KEY, REASON_NULL_VALUE, DeadLetteringTopic
from streams.shop.inventory_state import Change


class SentRecords:
    """Stands in for the dead-letter topic: keeps what `send` was given."""

    def __init__(self):
        self.sent: list[dict] = []

    async def send(self, **kwargs):
        self.sent.append(kwargs)
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def _app() -> faust.App:
    # Never started: building an app and its topics touches no broker.
    return faust.App("tombstone-test", broker="kafka://127.0.0.1:1", store="memory://",
                     autodiscover=False, web_enabled=False)


def _message(key: bytes | None, value: bytes | None, topic: str = "site.orders") -> Message:
    return Message(topic, 2, 41, 0.0, 0, [("event_type", b"OrderPlaced")], key, value, None)


def _topic(app, dead_letters, **kwargs) -> DeadLetteringTopic:
    return DeadLetteringTopic(app, topics=["site.orders"], key_type=bytes, key_serializer="raw",
                              value_serializer="json", dead_letters=dead_letters, **kwargs)


def _decode(topic, message):
    return asyncio.run(topic.decode(message, propagate=True))


def test_the_documented_reasons():
    assert (REASON_NULL_VALUE, REASON_NULL_KEY) == ("null value", "null key")


def test_a_tombstone_is_refused_before_the_agent_and_dead_lettered_with_its_origin():
    app, dead = _app(), SentRecords()
    topic = _topic(app, dead)
    tombstone = _message(b"order-1", None)
    with pytest.raises(ValueDecodeError) as refused:
        _decode(topic, tombstone)

    # What faust's conductor does with a decode error: hand it to the topic, move on.
    asyncio.run(topic.on_value_decode_error(refused.value, tombstone))
    [letter] = dead.sent
    headers = dict(letter["headers"])
    assert letter["key"] == b"order-1" and letter["value"] is None
    assert headers[H_ORIGIN_TOPIC] == b"site.orders"
    assert headers[H_ORIGIN_PARTITION] == b"2" and headers[H_ORIGIN_OFFSET] == b"41"
    assert headers[H_REASON] == REASON_NULL_VALUE.encode()
    assert headers[H_ERROR_TYPE] == b"DeserializationError"
    assert headers[H_GROUP] == b"tombstone-test"
    assert headers["event_type"] == b"OrderPlaced"  # the record's own headers are kept


def test_the_agents_copy_of_the_topic_refuses_it_too():
    topic = _topic(_app(), SentRecords(), require_key=True)
    clone = topic.clone()
    assert clone.require_key
    with pytest.raises(ValueDecodeError):
        _decode(clone, _message(b"k", None))


def test_a_null_key_is_refused_only_where_the_topic_needs_its_key():
    app, dead = _app(), SentRecords()
    keyless = _message(None, b'{"sku": "A"}')
    # An event topic: the event carries its key field, a keyless record is still an event.
    assert _decode(_topic(app, dead), keyless).value == {"sku": "A"}

    keyed = _topic(app, dead, require_key=True)
    with pytest.raises(KeyDecodeError) as refused:
        _decode(keyed, keyless)
    asyncio.run(keyed.on_key_decode_error(refused.value, keyless))
    [letter] = dead.sent
    assert dict(letter["headers"])[H_REASON] == REASON_NULL_KEY.encode()
    assert "produce it with its key" in dict(letter["headers"])["error.message"].decode()


def test_a_table_topic_may_take_tombstones_as_deletes():
    topic = _topic(_app(), SentRecords(), allow_empty=True)
    event = _decode(topic, _message(b"SKU-1", None))
    assert event.key == b"SKU-1" and event.value is None


def test_other_undecodable_records_stay_poison():
    app, dead = _app(), SentRecords()
    topic = _topic(app, dead)
    garbage = _message(b"k", b"{not json")
    with pytest.raises(ValueDecodeError) as refused:
        _decode(topic, garbage)
    asyncio.run(topic.on_value_decode_error(refused.value, garbage))
    assert dict(dead.sent[0]["headers"])[H_REASON] == b"poison record"


def _change(**overrides) -> dict:
    change = Change("SKU-1", -2, 2, "OrderPlaced", "e-1", "c-1", 1000, 0, "shop.orders:0", 7)
    return {**asdict(change), **overrides}


def test_a_stock_change_read_back_is_checked_field_by_field():
    assert Change.from_json(_change()).delta == -2
    for bad, named in [
        (None, "JSON object"),
        ([1, 2], "JSON object"),
        ({"sku": "SKU-1"}, "missing"),
        (_change(extra=1), "extra"),
        (_change(delta="2"), "'delta' must be int"),
        (_change(sku=None), "'sku' must be str"),
        (_change(offset=True), "'offset' must be int"),
    ]:
        with pytest.raises(TypeError, match=named):
            Change.from_json(bad)
