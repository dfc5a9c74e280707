"""The batch logic of the worker runtime with fakes for the broker: pure logic, no network."""

from __future__ import annotations

import json
import time

from consumers import routing
from consumers.message import Record
from consumers.options import WorkerOptions
from consumers.runtime import Worker, _Context
from consumers.shop.search import SearchIndexer, search
from schemas.config import ConnectionSettings
from schemas.errors import DeserializationError


class FakeDeserializer:
    def decode(self, data):
        if not data or not data.startswith(b"{"):
            raise DeserializationError("bad magic byte")
        body = json.loads(data)
        return body.pop("type"), body


class FakeConsumer:
    def __init__(self):
        self.stored, self.paused, self.seeks, self.resumed = [], [], [], []

    def store_offsets(self, offsets):
        self.stored.extend((tp.topic, tp.partition, tp.offset) for tp in offsets)

    def pause(self, tps):
        self.paused.extend((tp.topic, tp.partition) for tp in tps)

    def seek(self, tp):
        self.seeks.append((tp.topic, tp.partition, tp.offset))

    def resume(self, tps):
        self.resumed.extend((tp.topic, tp.partition) for tp in tps)


class FakeProducer:
    def __init__(self):
        self.sent = []

    def produce(self, topic, value=None, key=None, headers=None, on_delivery=None):
        self.sent.append(Record(topic, value, key, 0, len(self.sent), headers or []))

    def flush(self, timeout=None):
        return 0


def _doc(n, version=1, **extra):
    body = {"type": "SearchDocumentUpserted", "event_id": f"e-{n}", "document_id": f"d-{n}",
            "kind": "product", "title": f"Lamp {n}", "body": "", "aggregate_version": version}
    body.update(extra)
    return json.dumps(body).encode()


def _worker(tmp_path, handler=None, delays=(1.0,)):
    handler = handler or SearchIndexer()
    worker = Worker(handler, ConnectionSettings(), group_id="g",
                    database_url=f"sqlite:///{tmp_path / 'worker.sqlite3'}",
                    options=WorkerOptions(retry_delays_s=delays), topics=["shop.search"])
    worker._consumer, worker._producer = FakeConsumer(), FakeProducer()
    worker._deserializer = FakeDeserializer()
    worker.database.connect()
    worker.inbox.create()
    handler.open(_Context("search", worker.options, worker.database))
    return worker


def test_offsets_are_stored_after_the_batch_and_duplicates_are_skipped(tmp_path):
    worker = _worker(tmp_path)
    batch = [Record("shop.search", _doc(i), partition_=0, offset_=i) for i in range(3)]
    worker._process_batch(batch)
    worker._process_batch([Record("shop.search", _doc(1), partition_=0, offset_=3)])
    assert worker._consumer.stored == [("shop.search", 0, 3), ("shop.search", 0, 4)]
    assert worker.result.counts == {"handled": 3, "duplicate": 1}
    assert [h["document_id"] for h in search(worker.database, "lamp")] != []
    assert worker.inbox.count() == 3


def test_a_poison_record_and_a_failing_record_are_routed_and_the_rest_handled(tmp_path):
    worker = _worker(tmp_path)
    broken = json.dumps({"type": "SearchDocumentUpserted", "event_id": "e-bad",
                         "aggregate_version": 1}).encode()  # no document_id: KeyError
    batch = [Record("shop.search", b"\x07junk", partition_=1, offset_=10),
             Record("shop.search", broken, partition_=1, offset_=11),
             Record("shop.search", _doc(5), partition_=1, offset_=12)]
    worker._process_batch(batch)
    sent = {r.topic(): r for r in worker._producer.sent}
    assert set(sent) == {"g.dlq", "g.retry.1"}
    assert dict(sent["g.dlq"].headers())[routing.H_ORIGIN_OFFSET] == b"10"
    assert dict(sent["g.retry.1"].headers())[routing.H_ERROR_TYPE] == b"KeyError"
    assert worker._consumer.stored == [("shop.search", 1, 13)]
    assert worker.result.counts == {"handled": 1, "dead_lettered": 1, "retried": 1}
    # The failed record's inbox claim was rolled back with its savepoint.
    assert worker.inbox.count() == 1


def test_a_retry_record_not_yet_due_pauses_only_its_partition(tmp_path):
    worker = _worker(tmp_path)
    later = int(time.time() * 1000) + 60_000
    waiting = Record("g.retry.1", _doc(1), partition_=0, offset_=7,
                     headers_=[(routing.H_DUE_AT, str(later).encode()),
                               (routing.H_ATTEMPT, b"1")])
    behind = Record("g.retry.1", _doc(2), partition_=0, offset_=8)
    other = Record("shop.search", _doc(3), partition_=0, offset_=0)
    worker._process_batch([waiting, behind, other])
    assert worker._consumer.paused == [("g.retry.1", 0)]
    assert worker._consumer.seeks == [("g.retry.1", 0, 7)]
    assert worker._consumer.stored == [("shop.search", 0, 1)]
    assert worker._paused == {("g.retry.1", 0): later}
    worker._paused[("g.retry.1", 0)] = 0
    worker._resume_due()
    assert worker._consumer.resumed == [("g.retry.1", 0)] and worker._paused == {}


def test_a_bounded_run_does_not_handle_records_past_the_end(tmp_path):
    worker = _worker(tmp_path)
    worker.stop_at = {("shop.search", 0): 2}
    worker._process_batch([Record("shop.search", _doc(i), partition_=0, offset_=i)
                           for i in range(4)])
    assert worker.result.counts == {"handled": 2}
    assert worker._consumer.stored == [("shop.search", 0, 2)]
    assert ("shop.search", 0) in worker._reached


def test_search_indexer_ignores_a_stale_version(tmp_path):
    worker = _worker(tmp_path)
    worker._process_batch([
        Record("shop.search", _doc(1, version=3, title="Lamp new"), offset_=0),
        Record("shop.search", _doc(1, version=2, title="Lamp old", event_id="e-old"),
               offset_=1),
    ])
    assert [h["title"] for h in search(worker.database, "lamp")] == ["Lamp new"]


def test_the_worker_consumer_refills_its_fetch_queue_without_a_one_second_pause(tmp_path):
    from schemas.kafka_io import BULK_CONSUMER_CONF

    conf = _worker(tmp_path)._consumer_conf()
    assert BULK_CONSUMER_CONF.items() <= conf.items()
