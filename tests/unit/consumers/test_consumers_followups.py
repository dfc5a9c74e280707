"""Follow-up events (`tx.publish`) and `run_handler`: real SQLite, no broker."""

from __future__ import annotations

import json
import uuid

import pytest

from consumers.db import Database, NotHandling
from consumers.message import Record
from consumers.options import WorkerOptions
from consumers.runtime import Worker, _Context
from consumers.shop.testing import search_upsert
from consumers.testing import create_sqlite_outbox, run_handler
from schemas.config import ConnectionSettings
from schemas.errors import SerializationError
from schemas.ids import derived_event_id
from schemas.outbox import OutboxMissing


class Chaining:
    """SearchDocumentUpserted -> one CacheInvalidated per document (two for "twice")."""

    name = "chain"
    topics = ("shop.search",)
    transactional = True

    def __init__(self, fail_on: str | None = None, bad_followup: bool = False):
        self.fail_on = fail_on
        self.bad_followup = bad_followup

    def open(self, context) -> None:
        """Nothing to prepare."""

    def handle(self, event, tx) -> None:
        document_id = event.data["document_id"]
        keys = [document_id] if not self.bad_followup else "not-a-list"
        tx.publish("CacheInvalidated", {"keys": keys}, aggregate_id=document_id)
        if document_id == "twice":
            tx.publish("CacheInvalidated", {"keys": ["again"]}, aggregate_id=document_id)
        if document_id == self.fail_on:
            raise RuntimeError("effect failed after the follow-up")

    def close(self) -> None:
        """Nothing to release."""


def _upsert(document_id: str) -> dict:
    return {"event_type": "SearchDocumentUpserted", **search_upsert(document_id, "Lamp")}


def _outbox(url: str) -> list[dict]:
    db = Database(url)
    try:
        rows = db.fetchall("SELECT event_id, topic, key, aggregate_version, payload "
                           "FROM events_outbox ORDER BY id")
    finally:
        db.close()
    return [{"event_id": str(uuid.UUID(r[0])), "topic": r[1], "key": r[2], "version": r[3],
             **json.loads(r[4])} for r in rows]


def test_a_follow_up_gets_its_metadata_from_the_handled_event():
    cause = _upsert("d-1")
    run = run_handler(Chaining(), [cause])
    assert run.handled == [cause["event_id"]] and run.failures == []
    [followup] = run.published
    assert followup["event_type"] == "CacheInvalidated" and followup["keys"] == ["d-1"]
    assert followup["event_id"] == derived_event_id(cause["event_id"], "CacheInvalidated", 0)
    assert followup["causation_id"] == cause["event_id"]
    assert followup["correlation_id"] == cause["correlation_id"]
    assert followup["producer"] == "worker-chain"
    [row] = _outbox(run.database_url)
    assert (row["event_id"], row["topic"], row["key"], row["version"]) == (
        followup["event_id"], "shop.cache", "d-1", 1)
    assert row["aggregate_version"] == 1


def test_ids_count_per_type_and_versions_per_aggregate():
    first = _upsert("twice")
    run = run_handler(Chaining(), [first, _upsert("twice")])
    ids = [p["event_id"] for p in run.published]
    assert ids[:2] == [derived_event_id(first["event_id"], "CacheInvalidated", n)
                       for n in (0, 1)]
    assert len(set(ids)) == 4
    assert [r["version"] for r in _outbox(run.database_url)] == [1, 2, 3, 4]


def test_a_redelivered_event_publishes_nothing_again():
    event = _upsert("d-2")
    run = run_handler(Chaining(), [event, dict(event)])
    assert run.duplicates == [event["event_id"]]
    assert len(_outbox(run.database_url)) == 1


def test_a_failing_handler_leaves_no_follow_up():
    run = run_handler(Chaining(fail_on="bad"), [_upsert("bad"), _upsert("good")])
    assert [f.error.__class__ for f in run.failures] == [RuntimeError]
    assert [r["keys"] for r in _outbox(run.database_url)] == [["good"]]
    assert [p["keys"] for p in run.published] == [["good"]]


def test_a_follow_up_that_does_not_match_its_schema_fails_naming_the_field():
    run = run_handler(Chaining(bad_followup=True), [_upsert("d-3")])
    [failure] = run.failures
    assert isinstance(failure.error, SerializationError) and failure.error.field == "keys"


def test_without_an_outbox_table_the_error_names_the_fix(tmp_path):
    run = run_handler(Chaining(), [_upsert("d-4")],
                      database_url=f"sqlite:///{tmp_path / 'no-outbox.sqlite3'}")
    [failure] = run.failures
    assert isinstance(failure.error, OutboxMissing)
    assert "INSTALLED_APPS" in str(failure.error) and "migrate" in str(failure.error)


def test_publish_outside_a_handler_is_an_error(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with pytest.raises(NotHandling, match="handle\\(event, tx\\)"), db.transaction() as tx:
        tx.publish("CacheInvalidated", {"keys": []})
    db.close()


def test_run_handler_fills_metadata_and_checks_the_event_type():
    run = run_handler(Chaining(), [{"event_type": "SearchDocumentUpserted",
                                    "document_id": "d-5", "kind": "product", "title": "T",
                                    "body": ""}])
    assert len(run.handled) == 1 and run.published[0]["keys"] == ["d-5"]
    with pytest.raises(SerializationError, match="kind"):
        run_handler(Chaining(), [{"event_type": "SearchDocumentUpserted", "document_id": "x"}])


class _Fakes:
    """The broker side of a Worker, for the batch logic."""

    class Consumer:
        def __init__(self):
            self.stored = []

        def store_offsets(self, offsets):
            self.stored.extend((tp.topic, tp.partition, tp.offset) for tp in offsets)

    class Producer:
        def __init__(self):
            self.sent = []

        def produce(self, topic, value=None, key=None, headers=None, on_delivery=None):
            self.sent.append(topic)

        def flush(self, timeout=None):
            return 0

    class Deserializer:
        def decode(self, data):
            body = json.loads(data)
            return body.pop("event_type"), body


def test_the_worker_commits_follow_ups_with_the_inbox_and_redoes_them_identically(tmp_path):
    url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    handler = Chaining(fail_on="bad")
    worker = Worker(handler, ConnectionSettings(), group_id="g", database_url=url,
                    options=WorkerOptions(retry_delays_s=(1.0,)), topics=["shop.search"])
    worker._consumer, worker._producer = _Fakes.Consumer(), _Fakes.Producer()
    worker._deserializer = _Fakes.Deserializer()
    worker.database.connect()
    worker.inbox.create()
    create_sqlite_outbox(worker.database)
    handler.open(_Context("chain", worker.options, worker.database))
    events = [_upsert(d) for d in ("a", "bad", "b")]

    def batch(offset):
        return [Record("shop.search", json.dumps(e, default=str).encode(), offset_=offset + i)
                for i, e in enumerate(events)]

    # The failure sends the batch down the savepoint path: only "bad" is routed, and its
    # follow-up is rolled back with its inbox claim.
    worker._process_batch(batch(0))
    assert worker.result.counts == {"handled": 2, "retried": 1}
    assert worker._producer.sent == ["g.retry.1"]
    rows = _outbox(url)
    assert [r["keys"] for r in rows] == [["a"], ["b"]]
    assert {r["event_id"] for r in rows} == {
        derived_event_id(events[i]["event_id"], "CacheInvalidated", 0) for i in (0, 2)}
    assert all(r["producer"] == "g" for r in rows)
    # A redelivery adds nothing: the inbox skips the handled ones.
    handler.fail_on = None
    worker._process_batch(batch(3))
    assert worker.result.counts == {"handled": 3, "retried": 1, "duplicate": 2}
    assert len(_outbox(url)) == 3
    worker.database.close()
