"""A handler that fails 30% of the time for a while: every event is handled, or in the
dead-letter topic after its last attempt and then redriven; no partition waits for retries."""

from __future__ import annotations

import json
import time
import zlib

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from consumers import dlq, routing
from consumers.db import Database
from consumers.options import WorkerOptions
from consumers.shop.testing import search_upsert
from consumers.testing import WorkerThread, publish, wait_until
from deploy.cli import main as pipeline
from schemas.serde import EventSerializer

EVENTS = 2000
DELAYS = (0.5, 1.0, 2.0)


class FlakyError(RuntimeError):
    pass


class FlakyIndexer:
    """Writes one row per event; fails 30% of attempts while `failing` is true."""

    name = "flaky"
    transactional = True

    def __init__(self, topic: str):
        self.topics = (topic,)
        self.failing = True
        # (attempt, topic, event id); a batch may be replayed after a failure, so an event can
        # appear more than once per attempt (its rolled-back effect did not count).
        self.calls: list[tuple[int, str, str]] = []
        # The worker's stored offsets ({(topic, partition): next offset}), set by the test once
        # the worker runs; and for each retry attempt, (origin offset, the stored offset of the
        # origin partition at that moment).
        self.stored_offsets: dict | None = None
        self.retried_at: list[tuple[int, int | None]] = []

    def open(self, context) -> None:
        with context.database.transaction() as tx:
            tx.execute("CREATE TABLE IF NOT EXISTS effects (event_id TEXT PRIMARY KEY, "
                       "attempt INTEGER NOT NULL)")

    def handle(self, event, tx) -> None:
        self.calls.append((event.attempt, event.message.topic(), event.event_id))
        if event.attempt > 1:
            h = dict(event.message.headers())
            origin = (h[routing.H_ORIGIN_TOPIC].decode(), int(h[routing.H_ORIGIN_PARTITION]))
            stored = None if self.stored_offsets is None else self.stored_offsets.get(origin)
            self.retried_at.append((int(h[routing.H_ORIGIN_OFFSET]), stored))
        roll = zlib.crc32(f"{event.event_id}:{event.attempt}".encode()) % 10
        if self.failing and roll < 3:
            raise FlakyError(f"transient failure on attempt {event.attempt}")
        tx.execute("INSERT INTO effects (event_id, attempt) VALUES (%s, %s)",
                   (event.event_id, event.attempt))

    def close(self) -> None:
        """Nothing to release."""


def _dead_letters(settings, group: str, expected: int) -> list:
    consumer = Consumer(settings.kafka_conf(**{"group.id": f"{group}-check"}))
    consumer.assign([TopicPartition(routing.dead_letter_topic(group), p, 0) for p in range(3)])
    found: list = []
    try:
        deadline = time.monotonic() + 20
        while len(found) < expected and time.monotonic() < deadline:
            found += [m for m in consumer.consume(500, 0.5) if m.error() is None]
    finally:
        consumer.close()
    return found


def test_flaky_handler_loses_nothing_and_never_blocks(
    settings, registry_client, make_topic, unique, tmp_path, monkeypatch, capsys
):
    topic = make_topic("flaky")
    group = f"flaky-{unique}"
    url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    events = [search_upsert(f"doc-{i}", f"Doc {i}") for i in range(EVENTS)]
    publish(settings, EventSerializer(registry_client), topic, "SearchDocumentUpserted", events)
    all_ids = {e["event_id"] for e in events}

    handler = FlakyIndexer(topic)
    db = Database(url)
    worker = WorkerThread("flaky", settings, handler=handler, group_id=group, topics=[topic],
                          database_url=url, options=WorkerOptions(retry_delays_s=DELAYS))
    # Set before the first retry can be due (DELAYS[0] after the first failure).
    handler.stored_offsets = worker.worker.result.positions
    try:
        handled = lambda: {r[0] for r in db.fetchall("SELECT event_id FROM effects")}  # noqa: E731
        # Every record reaches a final state: handled, or dead-lettered after attempt 4.
        wait_until(lambda: len(handled()) + worker.worker.metrics.value("dead_lettered")
                   >= EVENTS, 60, what="every event handled or dead-lettered")
        done = handled()
        dead = _dead_letters(settings, group, EVENTS - len(done))
        dead_ids = {dict(m.headers())["event_id"].decode() for m in dead}
        assert len(dead) == len(dead_ids) == EVENTS - len(done)
        assert done | dead_ids == all_ids and not done & dead_ids, "lost or doubled events"
        assert dead, "expected some events to exhaust their retries"
        deserializer = AvroDeserializer(registry_client)
        for msg in dead:
            headers = dict(msg.headers())
            assert headers[routing.H_ATTEMPT] == str(len(DELAYS) + 1).encode()
            assert headers[routing.H_ORIGIN_TOPIC] == topic.encode()
            assert int(headers[routing.H_ORIGIN_OFFSET]) >= 0
            assert headers[routing.H_ERROR_TYPE] == b"FlakyError"
            assert headers[routing.H_REASON] == routing.REASON_EXHAUSTED.encode()
            value = deserializer(msg.value(), SerializationContext(topic, MessageField.VALUE))
            assert value["event_id"] == headers["event_id"].decode()

        # The main topic was read through while failures waited in the retry topics: whenever
        # a retry ran, the worker had already stored its source partition's offset past the
        # failed record (a partition that waited for its retries would not have).
        first_attempts = {e for attempt, t, e in handler.calls if attempt == 1 and t == topic}
        assert first_attempts == all_ids
        retried_at = list(handler.retried_at)
        assert retried_at, "expected some retries"
        blocked = [(offset, stored) for offset, stored in retried_at
                   if stored is None or stored <= offset]
        assert not blocked, f"source partition waited for retries: {blocked[:5]}"

        # After the fix: redrive the dead letters, and they are handled.
        handler.failing = False
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
        monkeypatch.setenv("SCHEMA_REGISTRY_URL", settings.schema_registry_url)
        monkeypatch.setenv("PIPELINE_HOME", str(tmp_path / "home"))
        assert pipeline(["dlq", "show", group, "--limit", "1"]) == 0
        shown = json.loads(capsys.readouterr().out.splitlines()[0])
        assert shown["attempts"] == len(DELAYS) + 1 and shown["event_type"]
        assert pipeline(["dlq", "redrive", group]) == 0
        assert f"redrove {len(dead)} dead letters" in capsys.readouterr().out
        wait_until(lambda: handled() == all_ids, 30, what="redriven events handled")
        assert pipeline(["dlq", "list", group, "--json"]) == 0
        listing = json.loads(capsys.readouterr().out)[0]
        assert listing["total"] == len(dead) and listing["pending"] == 0
        assert dlq.redrive(settings, group) == 0, "a dead letter was redriven twice"
    finally:
        worker.stop()
