"""The inventory app against a real broker and registry."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from schemas.ids import derived_event_id
from streams.shop import sales
from streams.shop.testing import Workload
from streams.testing import publish, read_topic, wait_until

pytestmark = pytest.mark.integration


def levels_by_sku(app, settings, registry_client, skus) -> dict[str, list[dict]]:
    # Decoded with confluent-kafka's own AvroDeserializer, independent of our serde.
    decode = AvroDeserializer(registry_client)
    out: dict[str, list[dict]] = {}
    for msg in read_topic(settings, app.levels):
        sku = msg.key().decode()
        if sku in skus:
            ctx = SerializationContext(msg.topic(), MessageField.VALUE)
            out.setdefault(sku, []).append(decode(msg.value(), ctx))
    return out


def table_matches(worker, expected: dict[str, int]):
    mismatches = {}
    for sku, on_hand in expected.items():
        response = worker.get(f"/inventory/{sku}")
        ok = response.status_code == 200
        got = response.json().get("on_hand") if ok else response.status_code
        if got != on_hand:
            mismatches[sku] = (got, on_hand)
    return mismatches


def test_table_equals_recomputation_of_a_mixed_workload(
    inventory_app, settings, registry_client, serializer, prefix
):
    workload = Workload(seed=11, prefix=prefix).mixed(users=4, products=10, steps=250)
    publish(settings, serializer, workload.take())
    expected = dict(workload.on_hand)

    wait_until(lambda: not table_matches(inventory_app.worker, expected), 90,
               "inventory table to equal the recomputation")
    assert table_matches(inventory_app.worker, expected) == {}

    # The compacted levels topic ends on the same numbers, versions strictly increasing.
    levels = levels_by_sku(inventory_app, settings, registry_client, set(expected))
    assert {sku: records[-1]["on_hand"] for sku, records in levels.items()} == expected
    for records in levels.values():
        versions = [r["aggregate_version"] for r in records]
        assert versions == sorted(set(versions))

    # Units sold per SKU: the tumbling minutes add up to what the workload sold.
    for sku, units in workload.sold.items():
        view = inventory_app.worker.get(f"/sales/{sku}").json()
        assert sum(w["units"] for w in view["tumbling_1m"]) == units
        assert max(w["units"] for w in view["hopping_1h"]) == units


def test_unknown_sku_is_a_clear_404(inventory_app, prefix):
    response = inventory_app.worker.get(f"/inventory/{prefix}NOPE")
    assert response.status_code == 404
    assert "unknown SKU" in response.json()["error"]
    assert inventory_app.worker.get(f"/sales/{prefix}NOPE").status_code == 404


def test_low_stock_is_detected_once_per_crossing(
    inventory_app, settings, registry_client, serializer, prefix
):
    w = Workload(seed=3, prefix=prefix)
    user = w.user(1)
    sku = w.product(1, stock=10)
    steps = [
        lambda: w.place(user, {sku: 3}),   # 7
        lambda: w.place(user, {sku: 3}),   # 4: crosses below 5
        lambda: w.place(user, {sku: 1}),   # 3: still low, no new alert
        lambda: w.adjust(sku, 10),         # 13: back above
        lambda: w.place(user, {sku: 9}),   # 4: crosses again
    ]
    publish(settings, serializer, w.take())
    for step in steps:
        # One step at a time: orders travel on other partitions than products and adjustments.
        wait_until(lambda: not table_matches(inventory_app.worker, w.on_hand), 60, "level")
        step()
        publish(settings, serializer, w.take())
    wait_until(lambda: not table_matches(inventory_app.worker, w.on_hand), 60, "final level")

    alerts = [m for m in read_topic(settings, inventory_app.alerts) if m.key() == sku.encode()]
    decode = AvroDeserializer(registry_client)
    records = [decode(m.value(), SerializationContext(m.topic(), MessageField.VALUE))
               for m in alerts]
    assert [(r["on_hand"], r["threshold"]) for r in records] == [(4, 5), (4, 5)]
    assert inventory_app.worker.get(f"/inventory/{sku}").json()["low_stock"] is True


def test_derived_levels_have_ids_from_their_cause(
    inventory_app, settings, registry_client, serializer, prefix
):
    w = Workload(seed=5, prefix=prefix)
    sku = w.product(1, stock=8)
    publish(settings, serializer, w.take())
    wait_until(lambda: not table_matches(inventory_app.worker, w.on_hand), 60, "level")
    [level] = levels_by_sku(inventory_app, settings, registry_client, {sku})[sku]
    assert level["event_id"] == derived_event_id(level["causation_id"], "InventoryLevel", 0)
    assert level["aggregate_id"] == sku and level["aggregate_version"] == 1


def test_poison_records_are_dead_lettered_and_the_partition_keeps_flowing(
    inventory_app, settings, serializer, prefix
):
    from confluent_kafka import Producer

    w = Workload(seed=9, prefix=prefix)
    sku = w.product(1, stock=20)
    publish(settings, serializer, w.take())
    producer = Producer(settings.kafka_conf())
    bad_magic = b"\x07" + struct.pack(">I", 1) + b"garbage"
    unknown_id = b"\x00" + struct.pack(">I", 987654) + b"\x02\x04"
    # Same key, so they share the partition with the good event that follows.
    for value in (bad_magic, unknown_id):
        producer.produce("shop.inventory", key=sku.encode(), value=value)
    producer.flush(30)
    w.adjust(sku, -3)
    publish(settings, serializer, w.take())

    wait_until(lambda: not table_matches(inventory_app.worker, w.on_hand), 60,
               "the event behind the poison records to be applied")
    dead = [m for m in read_topic(settings, f"{inventory_app.worker.app_id}.dlq")
            if m.key() == sku.encode()]
    assert sorted(m.value() for m in dead) == sorted([bad_magic, unknown_id])
    for m in dead:
        headers = {k: v.decode() for k, v in m.headers()}
        assert headers["origin.topic"] == "shop.inventory"
        assert int(headers["origin.offset"]) >= 0 and "origin.partition" in headers
        assert headers["dead_letter.reason"] == "poison record"
    reasons = {dict(m.headers())["error.type"] for m in dead}
    assert reasons == {b"DeserializationError", b"UnknownSchemaError"}


def test_hourly_summary_adds_up_units_sold_in_the_last_hour(
    inventory_app, settings, registry_client, serializer, prefix
):
    now = datetime.now(UTC)
    last_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    w = Workload(seed=13, prefix=prefix)
    user = w.user(1)
    a, b = w.product(1, stock=50), w.product(2, stock=50)
    w.place(user, {a: 2, b: 1}, at=last_hour + timedelta(minutes=10))
    w.place(user, {a: 4}, at=last_hour + timedelta(minutes=50))
    publish(settings, serializer, w.take())
    wait_until(lambda: not table_matches(inventory_app.worker, w.on_hand), 60, "levels")
    start = int(last_hour.timestamp() * 1000)

    def summary_with_our_skus():
        decode = AvroDeserializer(registry_client)
        for msg in reversed(read_topic(settings, inventory_app.summary)):
            record = decode(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE))
            hour = int(record["hour_start"].timestamp() * 1000)
            if hour == start and a in record["units_by_sku"]:
                return record
        return None

    record = wait_until(summary_with_our_skus, 60, "a sales summary with the new orders")
    assert record["units_by_sku"][a] == 6 and record["units_by_sku"][b] == 1
    assert record["hour_end"] - record["hour_start"] == timedelta(milliseconds=sales.HOUR_MS)
