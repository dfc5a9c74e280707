"""The workers' null-record policy, without a broker: a tombstone is not an event, it goes to
the dead letters at once (reason "null value") with its origin; a null key is no obstacle."""

from __future__ import annotations

import pytest

from consumers import routing
from consumers.message import Record, header
from schemas.errors import DeserializationError
from schemas.serde import schema_id_of


def test_a_tombstone_is_dead_lettered_at_once_with_its_origin():
    tombstone = Record("site.orders", None, b"order-1", 2, 41)
    with pytest.raises(DeserializationError, match="tombstone") as undecodable:
        schema_id_of(tombstone.value())  # what the runtime's decode raises first

    reason = routing.undecodable_reason(tombstone)
    assert reason == routing.REASON_NULL_VALUE == "null value"
    hop = routing.next_hop(tombstone, "worker-x", (1.0, 5.0), undecodable.value, reason=reason)
    letter = Record(hop.topic, hop.value, hop.key, 0, 0, hop.headers)
    assert hop.dead_letter and hop.topic == "worker-x.dlq"
    assert (letter.key(), letter.value()) == (b"order-1", None)
    assert header(letter, routing.H_REASON) == "null value"
    assert header(letter, routing.H_ORIGIN_TOPIC) == "site.orders"
    assert header(letter, routing.H_ORIGIN_PARTITION) == "2"
    assert header(letter, routing.H_ORIGIN_OFFSET) == "41"
    assert header(letter, routing.H_ERROR_TYPE) == "DeserializationError"


def test_other_undecodable_records_stay_poison_whatever_their_key():
    for key in (b"k", None):
        record = Record("site.orders", b"\x07not avro", key)
        assert routing.undecodable_reason(record) == routing.REASON_POISON
