"""The fanout app against a real broker and registry."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from schemas.ids import derived_event_id
from schemas.serde import event_headers
from streams.shop.testing import Workload
from streams.testing import WorkerProcess, create_topics, free_port, publish, read_topic, wait_until

pytestmark = pytest.mark.integration

OPS = "ops-test@example.com"


@pytest.fixture(scope="module")
def fanout(settings, tmp_path_factory):
    tag = uuid.uuid4().hex[:8]
    alerts = f"test.{tag}.alerts"
    create_topics(settings, [alerts])
    worker = WorkerProcess(
        "fanout", settings, app_id=f"test-fanout-{tag}", workdir=tmp_path_factory.mktemp("fan"),
        web_port=free_port(), env={"STREAMS_ALERTS_TOPIC": alerts, "STREAMS_OPS_EMAIL": OPS},
    ).start()
    worker.alerts = alerts
    yield worker
    worker.stop()


def decoded(settings, registry_client, topic, keep):
    decode = AvroDeserializer(registry_client)
    out = []
    for msg in read_topic(settings, topic):
        record = decode(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE))
        if keep(record):
            out.append((msg, record))
    return out


def test_fanout_derives_notifications_search_and_cache_events(
    fanout, settings, registry_client, serializer, prefix
):
    w = Workload(seed=21, prefix=prefix).mixed(users=3, products=4, steps=40)
    # An order of a user the app has not seen yet: parked until the registration arrives.
    late_user = f"{prefix}u-late"
    w.users[late_user] = {"email": "late@example.com", "name": "Late Comer"}
    late_order = w.place(late_user, {w.product(99, stock=5): 1})
    events = w.take()
    publish(settings, serializer, events)
    w.event("UserRegistered", late_user, user_id=late_user, email="late@example.com",
            name="Late Comer")
    registration = w.take()
    events += registration

    by_id = {r["event_id"]: (t, r) for t, r in events}
    wanted = Counter()
    for event_type, _ in events:
        wanted[event_type] += 1
    want_notes = wanted["UserRegistered"] + wanted["OrderPlaced"] + wanted["OrderShipped"]

    def ours(record):
        return str(record.get("aggregate_id", "")).startswith(prefix) or str(
            record.get("user_id", "")).startswith(prefix)

    wait_until(
        lambda: len(decoded(settings, registry_client, "shop.notifications", ours)) >= want_notes
        - 2, 60, "notifications of the users the app already knows")
    publish(settings, serializer, registration)
    notes = wait_until(
        lambda: (found := decoded(settings, registry_client, "shop.notifications", ours))
        and len(found) >= want_notes and found, 60, "every notification")

    seen_ids = Counter(r["event_id"] for _, r in notes)
    assert len(seen_ids) == want_notes and max(seen_ids.values()) == 1
    templates = {"UserRegistered": "welcome", "OrderPlaced": "order_confirmation",
                 "OrderShipped": "order_shipped"}
    for msg, note in notes:
        cause_type, cause = by_id[note["causation_id"]]
        assert note["event_id"] == derived_event_id(cause["event_id"], "NotificationRequested", 0)
        assert note["correlation_id"] == cause["correlation_id"]
        assert note["template"] == templates[cause_type]
        user = w.users[cause["user_id"]]
        assert note["recipient"] == user["email"] and note["params"]["name"] == user["name"]
        assert msg.key().decode() == cause["user_id"]
        if cause_type == "OrderPlaced":
            assert note["params"] == {"name": user["name"], "order_id": cause["order_id"],
                                      "total_cents": str(cause["total_cents"])}
        if cause_type == "OrderShipped":
            assert set(note["params"]) == {"name", "order_id", "carrier", "tracking_number"}
        assert dict(msg.headers())["event_id"].decode() == note["event_id"]
    assert late_order in {by_id[n["causation_id"]][1].get("order_id") for _, n in notes}

    search = decoded(settings, registry_client, "shop.search",
                     lambda r: r["causation_id"] in by_id)
    kinds = Counter(by_id[r["causation_id"]][0] for _, r in search)
    assert kinds == Counter({"ProductCreated": wanted["ProductCreated"],
                             "OrderPlaced": wanted["OrderPlaced"],
                             "OrderCancelled": wanted["OrderCancelled"]})
    for _, r in search:
        if by_id[r["causation_id"]][0] == "OrderCancelled":
            assert set(r) >= {"document_id"} and "title" not in r

    cache = decoded(settings, registry_client, "shop.cache", lambda r: r["causation_id"] in by_id)
    assert len(cache) == sum(wanted[t] for t in ("ProductCreated", "StockAdjusted", "OrderPlaced",
                                                 "OrderShipped", "OrderCancelled"))
    for _, r in cache:
        cause_type, cause = by_id[r["causation_id"]]
        if cause_type == "OrderPlaced":
            skus = {line["sku"] for line in cause["lines"]}
            assert set(r["keys"]) == {f"order:{cause['order_id']}"} | {f"product:{s}" for s in skus}


def test_low_stock_alert_becomes_an_ops_email(fanout, settings, registry_client, serializer,
                                              prefix):
    w = Workload(seed=2, prefix=prefix)
    sku = f"{prefix}SKU-low"
    alert = w.event("LowStockDetected", sku, sku=sku, on_hand=2, threshold=5)
    producer = Producer(settings.kafka_conf())
    producer.produce(fanout.alerts, key=sku.encode(),
                     value=serializer.serialize("LowStockDetected", alert),
                     headers=event_headers("LowStockDetected", alert))
    producer.flush(30)
    [(msg, note)] = wait_until(
        lambda: decoded(settings, registry_client, "shop.notifications",
                        lambda r: r["causation_id"] == alert["event_id"]), 60, "ops email")
    assert note["recipient"] == OPS and note["template"] == "low_stock"
    assert note["params"] == {"sku": sku, "on_hand": "2", "threshold": "5"}
    assert msg.key() == b"ops"
