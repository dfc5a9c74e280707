"""Null records never crash a stream app (streams/README.md, "Null values and null keys").

Tombstones (null values) interleaved with valid events on the source topics, and on the apps'
own re-keyed internal topics, with and without keys: every valid event is applied exactly as
if the tombstones were not there, every tombstone is in the app's dead-letter topic with its
origin, and no agent crashed.
"""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from schemas import catalog
from schemas.serde import event_headers
from streams.shop import inventory
from streams.shop.testing import Workload
from streams.testing import WorkerProcess, create_topics, free_port, read_topic, wait_until

pytestmark = pytest.mark.integration

Origin = tuple[str, int, int]  # topic, partition, offset


class Deliveries:
    """Where each produced record landed, checked once flushed."""

    def __init__(self):
        self.origins: list[Origin] = []
        self.errors: list[str] = []

    def __call__(self, err, msg) -> None:
        if err is not None:
            self.errors.append(str(err))
        else:
            self.origins.append((msg.topic(), msg.partition(), msg.offset()))


def _flush(producer: Producer, deliveries: Deliveries) -> list[Origin]:
    assert producer.flush(30) == 0 and deliveries.errors == []
    return deliveries.origins


def publish_with_tombstones(settings, serializer, events, *, every: int = 2) -> list[Origin]:
    """Produce the events to their catalog topics, each `every`-th one preceded by a tombstone
    with the same key (so in the same partition, right in front of it); where they landed."""
    producer = Producer(settings.kafka_conf(**{"enable.idempotence": True}))
    tombstones = Deliveries()
    for i, (event_type, record) in enumerate(events):
        spec = catalog.event_type(event_type)
        key = str(record[spec.key_field]).encode()
        if i % every == 0:
            producer.produce(spec.topic, key=key, value=None, on_delivery=tombstones)
        producer.produce(spec.topic, key=key, value=serializer.serialize(event_type, record),
                         headers=event_headers(event_type, record))
    return _flush(producer, tombstones)


def produce(settings, topic: str, records) -> list[Origin]:
    """`(key, value, headers)` records, one at a time; where each landed, in their order."""
    producer = Producer(settings.kafka_conf(**{"enable.idempotence": True}))
    deliveries = Deliveries()
    for key, value, headers in records:
        producer.produce(topic, key=key, value=value, headers=headers, on_delivery=deliveries)
        _flush(producer, deliveries)  # partitions differ: reports would come in any order
    return deliveries.origins


def dead_letters_from(settings, app_id: str, origins) -> dict[Origin, object]:
    """The app's dead letters whose origin is one of `origins`."""
    wanted = set(origins)
    found = {}
    for msg in read_topic(settings, f"{app_id}.dlq"):
        h = {k: v.decode() for k, v in msg.headers() or []}
        origin = (h.get("origin.topic"), int(h.get("origin.partition", -1)),
                  int(h.get("origin.offset", -1)))
        if origin in wanted:
            found[origin] = msg
        if msg.value() is None:
            # Every tombstone, ours or another test's, is refused as a null value.
            assert h["dead_letter.reason"] == "null value", h
    return found


def all_dead_lettered(settings, app_id: str, origins):
    found = dead_letters_from(settings, app_id, origins)
    return found if len(found) == len(set(origins)) else None


def reason(msg) -> str:
    return dict(msg.headers())["dead_letter.reason"].decode()


def assert_no_agent_crashed(worker: WorkerProcess) -> None:
    assert worker.proc.poll() is None, "the worker process died"
    assert worker.starts == 1
    log = worker.log.read_text(errors="replace")
    assert "Crashed reason" not in log and "AttributeError" not in log, log[-3000:]


def table_mismatches(worker, expected: dict[str, int]) -> dict:
    mismatches = {}
    for sku, on_hand in expected.items():
        response = worker.get(f"/inventory/{sku}")
        got = response.json().get("on_hand") if response.status_code == 200 else None
        if got != on_hand:
            mismatches[sku] = (got, on_hand)
    return mismatches


def test_inventory_applies_every_event_around_tombstones_and_dead_letters_them(
    inventory_app, settings, serializer, prefix
):
    worker = inventory_app.worker
    w = Workload(seed=17, prefix=prefix).mixed(users=3, products=6, steps=150)
    tombstones = [t for t in publish_with_tombstones(settings, serializer, w.take())
                  if t[0] in inventory.SOURCE_TOPICS]  # not shop.users: the app never reads it
    assert len(tombstones) >= 60
    # An event without a key is still an event (it carries its SKU): applied.
    sku = next(iter(w.on_hand))
    w.adjust(sku, 7)
    [(event_type, record)] = w.take()
    produce(settings, "shop.inventory", [
        (None, serializer.serialize(event_type, record), event_headers(event_type, record)),
    ])

    wait_until(lambda: not table_mismatches(worker, w.on_hand), 120,
               "every valid event applied around the tombstones", log=worker.log)
    assert table_mismatches(worker, w.on_hand) == {}
    for sku_, units in w.sold.items():
        view = worker.get(f"/sales/{sku_}").json()
        assert sum(b["units"] for b in view["tumbling_1m"]) == units

    dead = wait_until(lambda: all_dead_lettered(settings, worker.app_id, tombstones), 60,
                      "every tombstone in the dead letters", log=worker.log)
    for (topic, partition, offset), msg in dead.items():
        assert msg.value() is None and reason(msg) == "null value"
        h = {k: v.decode() for k, v in msg.headers()}
        assert (h["origin.topic"], h["origin.partition"], h["origin.offset"]) == (
            topic, str(partition), str(offset))
        assert h["error.group"] == worker.app_id
        assert "tombstone" in h["error.message"]
    assert_no_agent_crashed(worker)


def test_inventory_refuses_null_records_on_its_internal_topic(
    inventory_app, settings, serializer, prefix
):
    worker = inventory_app.worker
    w = Workload(seed=19, prefix=prefix)
    sku = w.product(1, stock=30)
    change = {"sku": sku, "delta": 5, "sold": 0, "cause_type": "StockAdjusted",
              "event_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4()),
              "occurred_at_ms": 1, "n": 0, "source": "hostile:0", "offset": 1}
    key = json.dumps(sku).encode()
    # Written by hand to the app's re-keying topic: none of these may change the SKU's level.
    bad = produce(settings, f"{worker.app_id}-stock-changes", [
        (key, None, []),                                        # a tombstone
        (None, json.dumps(change).encode(), []),                # a change without its key
        (key, json.dumps({**change, "delta": "5"}).encode(), []),  # not a change
    ])
    w.adjust(sku, -4)
    tombstones = publish_with_tombstones(settings, serializer, w.take(), every=1)

    wait_until(lambda: not table_mismatches(worker, w.on_hand), 60, "the level", log=worker.log)
    dead = wait_until(lambda: all_dead_lettered(settings, worker.app_id, bad + tombstones), 60,
                      "the refused records in the dead letters", log=worker.log)
    assert [reason(dead[o]) for o in bad] == ["null value", "null key", "permanent failure"]
    assert table_mismatches(worker, {sku: 26}) == {}
    assert_no_agent_crashed(worker)


@pytest.fixture(scope="module")
def fanout(settings, tmp_path_factory):
    tag = uuid.uuid4().hex[:8]
    alerts = f"test.{tag}.alerts"
    create_topics(settings, [alerts])
    worker = WorkerProcess(
        "fanout", settings, app_id=f"test-fanout-{tag}", workdir=tmp_path_factory.mktemp("fan"),
        web_port=free_port(), env={"STREAMS_ALERTS_TOPIC": alerts},
    ).start()
    yield worker
    worker.stop()


def notified_causes(settings, registry_client, prefix) -> set[str]:
    """The ids of the events our users' notifications were derived from."""
    decode = AvroDeserializer(registry_client)
    found = set()
    for msg in read_topic(settings, "shop.notifications"):
        record = decode(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE))
        if str(record["user_id"]).startswith(prefix):
            found.add(record["causation_id"])
    return found


def test_fanout_notifies_every_event_around_tombstones_and_dead_letters_them(
    fanout, settings, registry_client, serializer, prefix
):
    w = Workload(seed=23, prefix=prefix).mixed(users=3, products=4, steps=40)
    events = w.take()
    tombstones = publish_with_tombstones(settings, serializer, events)
    # On the app's own re-keying topic: a tombstone, and an event without its user id key.
    order_type, order = next((t, r) for t, r in events if t == "OrderPlaced")
    internal = produce(settings, f"{fanout.app_id}-by-user", [
        (json.dumps(order["user_id"]).encode(), None, []),
        (None, serializer.serialize(order_type, order), event_headers(order_type, order)),
    ])
    notified = {r["event_id"] for t, r in events
                if t in ("UserRegistered", "OrderPlaced", "OrderShipped")}

    found = wait_until(
        lambda: (seen := notified_causes(settings, registry_client, prefix)) >= notified
        and seen, 90, "a notification for every valid event", log=fanout.log)
    assert found == notified

    dead = wait_until(lambda: all_dead_lettered(settings, fanout.app_id, tombstones + internal),
                      60, "every null record in the dead letters", log=fanout.log)
    assert {reason(dead[o]) for o in tombstones} == {"null value"}
    # The keyless copy of the order was refused, never handled (the order was, from its topic).
    assert [reason(dead[o]) for o in internal] == ["null value", "null key"]
    assert_no_agent_crashed(fanout)
