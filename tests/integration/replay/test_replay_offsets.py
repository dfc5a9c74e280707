"""`pipeline offsets reset`: a dry run first, and refusal while the group has active members."""

from __future__ import annotations

import threading

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient
from conftest import order

from consumers.replay.ranges import format_ms
from deploy.cli import main

pytestmark = pytest.mark.integration

BASE_MS = 1_780_000_000_000


def committed(settings, group: str) -> dict:
    admin = AdminClient(settings.kafka_conf())
    result = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group]
    return {(tp.topic, tp.partition): tp.offset for tp in result.result(10).topic_partitions}


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_reset_refuses_active_group_then_applies_when_stopped(settings, make_topic, producer,
                                                              unique, monkeypatch, capsys):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", settings.schema_registry_url)
    topic = make_topic("replay-reset", partitions=3)
    producer.send_all(topic, [("OrderPlaced", order(i), i % 3, BASE_MS + i * 1000)
                              for i in range(30)])
    group = f"replay-reset-{unique}"

    # A live member that has consumed everything and keeps polling.
    consumer = Consumer(settings.kafka_conf(**{"group.id": group, "auto.offset.reset": "earliest",
                                               "enable.auto.commit": False}))
    consumer.subscribe([topic])
    seen = 0
    while seen < 30:
        msg = consumer.poll(1.0)
        if msg is not None and msg.error() is None:
            seen += 1
    consumer.commit(asynchronous=False)
    stop = threading.Event()

    def keep_polling():
        while not stop.is_set():
            consumer.poll(0.2)

    poller = threading.Thread(target=keep_polling, daemon=True)
    poller.start()
    before = committed(settings, group)
    assert sorted(before.values()) == [10, 10, 10]
    at = format_ms(BASE_MS + 15_000)  # orders 15..29 are at or after: 5 per partition
    try:
        code, out, err = run_cli(capsys, "offsets", "reset", "--group", group,
                                 "--to-datetime", at, "--execute")
        assert code == 1
        assert "active member" in err and "stop its workers" in err
        assert f"{topic}" in out and "-5" in out  # the per-partition change was printed first
        assert committed(settings, group) == before
    finally:
        stop.set()
        poller.join(5)
        consumer.close()

    code, out, err = run_cli(capsys, "offsets", "reset", "--group", group, "--to-datetime", at)
    assert code == 0, err
    assert "dry run: nothing changed" in out
    assert out.count(topic) == 3
    assert committed(settings, group) == before

    code, out, err = run_cli(capsys, "offsets", "reset", "--group", group, "--to-datetime", at,
                             "--execute")
    assert code == 0, err
    assert committed(settings, group) == {(topic, p): 5 for p in range(3)}
