"""Replay against a real broker and registry: exact ranges across partitions, filters, the end."""

from __future__ import annotations

import json
import threading

import pytest
from conftest import order, user

from consumers.replay import Replay, records
from deploy.cli import main

pytestmark = pytest.mark.integration

BASE_MS = 1_780_000_000_000  # 2026-05-28T20:26:40Z


def _iso(ms: int) -> str:
    from consumers.replay.ranges import format_ms

    return format_ms(ms)


@pytest.fixture
def orders_topic(make_topic, producer):
    """60 orders, one per second, round-robin over 3 partitions, with known timestamps."""
    topic = make_topic("replay-orders", partitions=3)
    items = [("OrderPlaced", order(i), i % 3, BASE_MS + i * 1000) for i in range(60)]
    coords = producer.send_all(topic, items)
    return topic, coords


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", settings.schema_registry_url)


def run_cli(capsysbinary, *argv) -> tuple[int, bytes, str]:
    code = main(list(argv))
    out, err = capsysbinary.readouterr()
    return code, out, err.decode()


def test_time_range_across_partitions_is_exact(settings, orders_topic):
    topic, coords = orders_topic
    start, end = BASE_MS + 10_000, BASE_MS + 40_000
    expected = {(p, o) for p, o, ts in coords if start <= ts < end}
    assert len(expected) == 30 and {p for p, _ in expected} == {0, 1, 2}

    got = list(records(topic, _iso(start), _iso(end), settings=settings))

    assert {(r.partition, r.offset) for r in got} == expected
    assert len(got) == 30
    assert all(r.event_type == "OrderPlaced" for r in got)
    # Per partition, offsets come in order.
    for p in range(3):
        offsets = [r.offset for r in got if r.partition == p]
        assert offsets == sorted(offsets)


def test_offset_range_and_partition(settings, orders_topic):
    topic, _ = orders_topic
    got = list(records(topic, 5, 10, settings=settings, partitions=[1]))
    assert [(r.partition, r.offset) for r in got] == [(1, o) for o in range(5, 10)]


def test_cli_writes_ndjson_to_stdout(cli_env, orders_topic, capsysbinary):
    topic, _ = orders_topic
    start, end = _iso(BASE_MS + 10_000), _iso(BASE_MS + 40_000)
    code, out, err = run_cli(capsysbinary, "replay", topic, "--from", start, "--to", end)
    assert code == 0, err
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert len(lines) == 30
    first = lines[0]
    assert set(first) == {"topic", "partition", "offset", "timestamp", "key", "event_type",
                          "value"}
    assert first["value"]["order_id"] == first["key"]
    assert "30 records written" in err


def test_filters(settings, orders_topic):
    topic, _ = orders_topic
    # order i has total 250*(1+i%3) and its line's sku is SKU-(i%5).
    big = list(records(topic, settings=settings, where=["total_cents>=750"]))
    assert sorted(int(r.key[2:]) for r in big) == [i for i in range(60) if i % 3 == 2]

    nested = list(records(topic, settings=settings, where=["lines.sku=SKU-3", "user_id!=u-0"]))
    assert sorted(int(r.key[2:]) for r in nested) == [
        i for i in range(60) if i % 5 == 3 and i % 7 != 0
    ]

    listed = list(records(topic, settings=settings, where=["order_id=o-1,o-2,o-59"]))
    assert sorted(r.key for r in listed) == ["o-1", "o-2", "o-59"]

    by_type = list(records(topic, settings=settings, where=["event_type=OrderShipped"]))
    assert by_type == []

    limited = list(records(topic, settings=settings, where=["total_cents=250"], limit=4))
    assert len(limited) == 4


def test_raw_mode_reads_headers_without_decoding(settings, orders_topic):
    topic, _ = orders_topic
    got = list(records(topic, settings=settings, raw=True, where=["event_type=OrderPlaced"]))
    assert len(got) == 60
    assert all(r.value is None and r.raw[:1] == b"\x00" for r in got)


def test_stops_at_the_end_while_producers_keep_writing(settings, make_topic, producer):
    topic = make_topic("replay-live", partitions=3)
    producer.send_all(topic, [("OrderPlaced", order(i), i % 3, None) for i in range(30)])
    stop = threading.Event()

    def keep_writing():
        i = 1000
        while not stop.is_set():
            producer.send_all(topic, [("OrderPlaced", order(i), i % 3, None)])
            i += 1

    writer = threading.Thread(target=keep_writing, daemon=True)
    writer.start()
    try:
        replay = Replay(settings, topic)
        fixed = replay.open().size
        got = list(replay)
    finally:
        stop.set()
        writer.join(10)
    assert fixed >= 30
    assert len(got) == fixed


def test_decoding_matches_confluent_avro_deserializer(settings, registry_client, make_topic,
                                                      producer):
    """The fast path decodes exactly like confluent-kafka's own AvroDeserializer."""
    from confluent_kafka import Consumer, TopicPartition

    from schemas.serde import EventDeserializer

    topic = make_topic("replay-decode", partitions=1)
    producer.send_all(topic, [("OrderPlaced", order(i), 0, None) for i in range(5)]
                      + [("UserRegistered", user(i), 0, None) for i in range(5)])
    ours = list(records(topic, settings=settings, unmask=True))

    consumer = Consumer(settings.kafka_conf(**{"group.id": "unused", "enable.auto.commit": False}))
    consumer.assign([TopicPartition(topic, 0, 0)])
    reference = EventDeserializer(registry_client)
    theirs = []
    while len(theirs) < 10:
        msg = consumer.poll(10)
        assert msg is not None and msg.error() is None
        theirs.append(reference.decode(msg.value()))
    consumer.close()
    assert [(r.event_type, r.value) for r in ours] == theirs
