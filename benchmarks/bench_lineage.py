"""The lineage indexer's cost to the pipeline, and its own speed.

    python -m benchmarks.bench_lineage [--records N] [--rounds R]

1. Pipeline throughput with the indexer running vs without it, in one run: a transactional
   worker (the runtime with a no-op effect: decode, inbox rows, offset store, the load every
   declared worker puts on the project's database) drains N events produced while it runs.
   In the "with" rounds the indexer runs as its own process (`pipeline lineage run`, as
   `pipeline up` starts it) for the same SQLite database (its tables in the file beside it,
   `consumers.lineage.store.lineage_url`), indexing the same events at the same time. Fresh
   database and consumer groups per round, rounds interleaved, best of R each.
   Target: ratio >= 0.9.
2. The indexer's events/s (decode, one row per event with its indexes, offset store) vs a raw
   `consume(500)` loop on the same records without decoding, and vs one that decodes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from benchmarks.bench_worker import NoopHandler, TimedWorker, _fill, _raw_rate
from benchmarks.common import report, running_stack
from consumers.db import Database
from consumers.lineage import store
from consumers.lineage.indexer import EventIndexer, index_worker
from consumers.lineage.metrics import indexer_ready
from consumers.options import WorkerOptions
from consumers.shop.testing import search_upsert
from consumers.testing import wait_until
from deploy.runtime import process
from deploy.runtime.ports import free_port
from deploy.runtime.process import ProcessSpec
from schemas import catalog, registry
from schemas.serde import EventSerializer, event_headers

TARGET = 0.9
_LOADING = (KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
            KafkaError.COORDINATOR_NOT_AVAILABLE)
EVENT = "SearchDocumentUpserted"


def _topic() -> str:
    return catalog.event_type(EVENT).topic


def _partitions(settings, topic: str) -> list[int]:
    meta = AdminClient(settings.kafka_conf()).list_topics(topic, timeout=10)
    return sorted(meta.topics[topic].partitions)


def _ends(settings, topic: str) -> dict[tuple[str, int], int]:
    consumer = Consumer(settings.kafka_conf(**{"group.id": "bench-lineage-watermarks"}))
    # Retried for a while: right after the catalog creates the topic, a partition may have no
    # leader yet (one full run failed on NOT_LEADER_FOR_PARTITION here).
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                return {(topic, p): consumer.get_watermark_offsets(TopicPartition(topic, p), 10)[1]
                        for p in _partitions(settings, topic)}
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
    finally:
        consumer.close()


def _start_at_end(settings, group: str, topics: list[str]) -> None:
    """Commit `group` at the end of `topics`: it sees only what is produced from now on."""
    offsets = []
    for topic in topics:
        offsets += [TopicPartition(t, p, end) for (t, p), end in _ends(settings, topic).items()]
    consumer = Consumer(settings.kafka_conf(**{"group.id": group, "enable.auto.commit": False}))
    try:
        for _ in range(60):  # a fresh broker's group coordinator is still loading
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
                return
            except KafkaException as exc:
                if not exc.args[0].retriable() and exc.args[0].code() not in _LOADING:
                    raise
                time.sleep(0.5)
        raise RuntimeError(f"could not commit the start offsets of {group}")
    finally:
        consumer.close()


def _group_stable(settings, group: str) -> bool:
    from confluent_kafka import ConsumerGroupState

    admin = AdminClient(settings.kafka_conf())
    described = admin.describe_consumer_groups([group])[group].result(timeout=10)
    return described.state == ConsumerGroupState.STABLE and any(
        m.assignment.topic_partitions for m in described.members
    )


def _serialized(client, records: int) -> list[tuple[bytes, bytes, list]]:
    serializer = EventSerializer(client)
    out = []
    for i in range(records):
        event = search_upsert(f"doc-{uuid.uuid4().hex[:8]}-{i}", f"Document {i}", "body " * 8)
        out.append((event["document_id"].encode(), serializer.serialize(EVENT, event),
                    event_headers(EVENT, event)))
    return out


def _produce(settings, topic: str, records) -> None:
    producer = Producer(settings.kafka_conf(**{"linger.ms": 5, "batch.num.messages": 10000}))
    for key, value, headers in records:
        while True:
            try:
                producer.produce(topic, key=key, value=value, headers=headers)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(60) == 0


def _indexer_process(settings, home: Path, database_url: str, group: str):
    port = free_port()
    pid = process.spawn(ProcessSpec(
        argv=[sys.executable, "-m", "deploy.cli", "lineage", "run", "--group", group,
              "--metrics-port", str(port), "--database-url", database_url],
        log=home / f"{group}.log",
        env={"PIPELINE_HOME": str(home), "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
             "SCHEMA_REGISTRY_URL": settings.schema_registry_url},
    ))
    wait_until(lambda: indexer_ready(port), 90, what=f"the indexer (log {home / group}.log)")
    return pid


def pipeline_round(settings, client, home: Path, records: int, with_indexer: bool):
    """One round: (worker events/s, events the indexer had recorded when the worker was done)."""
    tag = uuid.uuid4().hex[:8]
    topic = _topic()
    database_url = f"sqlite:///{home / f'round-{tag}.sqlite3'}"
    worker_group, lineage_group = f"bench-pipeline-{tag}", f"bench-lineage-{tag}"
    _start_at_end(settings, worker_group, [topic])
    batch = _serialized(client, records)
    pid = None
    if with_indexer:
        _start_at_end(settings, lineage_group, catalog.topics())
        pid = _indexer_process(settings, home, database_url, lineage_group)
    worker = TimedWorker(NoopHandler(), settings, group_id=worker_group, topics=[topic],
                         records=records, database_url=database_url,
                         options=WorkerOptions(retry_delays_s=(1.0,)), name="noop")
    thread = threading.Thread(target=worker.run, daemon=True)
    timer = threading.Timer(300, worker.stop)
    try:
        thread.start()
        timer.start()
        groups = [worker_group] + ([lineage_group] if with_indexer else [])
        wait_until(lambda: all(_group_stable(settings, g) for g in groups), 60,
                   interval_s=0.5, what="the consumer groups to settle")
        _produce(settings, topic, batch)
        thread.join()
        indexed = 0
        if with_indexer:
            lineage = Database(store.lineage_url(database_url))
            indexed = store.count(lineage) if store.exists(lineage) else 0
    finally:
        timer.cancel()
        worker.stop()
        if pid is not None:
            process.stop(pid)
    if worker.finished is None:
        raise RuntimeError(f"worker handled only {worker.result.counts} of {records}")
    return records / (worker.finished - worker.started), indexed


def pipeline_ratio(settings, client, home: Path, records: int, rounds: int) -> bool:
    best = {False: 0.0, True: 0.0}
    for n in range(rounds):
        for with_indexer in (False, True):
            rate, indexed = pipeline_round(settings, client, home, records, with_indexer)
            best[with_indexer] = max(best[with_indexer], rate)
            extra = f", indexer had recorded {indexed:,}" if with_indexer else ""
            print(f"  round {n + 1} {'with' if with_indexer else 'without':<7} indexer: worker "
                  f"{rate:>10,.0f}/s{extra}", flush=True)
    return report("pipeline worker with indexer / without", best[True], best[False], TARGET)


def _raw_consume_rate(settings, topic: str, records: int) -> float:
    consumer = Consumer(settings.kafka_conf(**{
        "group.id": f"bench-raw-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}))
    consumer.assign([TopicPartition(topic, p, 0) for p in _partitions(settings, topic)])
    seen, started = 0, None
    deadline = time.monotonic() + 120
    try:
        while seen < records and time.monotonic() < deadline:
            batch = consumer.consume(500, 1.0)
            if batch and started is None:
                started = time.perf_counter()
            seen += sum(1 for m in batch if m.error() is None)
        return seen / (time.perf_counter() - started)
    finally:
        consumer.close()


def _indexer_rate(settings, topic: str, records: int, home: Path) -> float:
    group = f"bench-index-{uuid.uuid4().hex[:8]}"
    worker = index_worker(
        EventIndexer([topic]), settings, f"sqlite:///{home / (group + '.sqlite3')}",
        group=group, options=WorkerOptions(retry_delays_s=()), worker_class=TimedWorker,
        topics=[topic], records=records,
    )
    timer = threading.Timer(300, worker.stop)
    timer.start()
    try:
        worker.run()
    finally:
        timer.cancel()
    if worker.finished is None:
        raise RuntimeError(f"indexer handled only {worker.result.counts} of {records}")
    return records / (worker.finished - worker.started)


def indexer_speed(settings, client, home: Path, records: int, rounds: int) -> None:
    topic = _topic()
    have = sum(_ends(settings, topic).values())
    if have < records:
        _fill(settings, EventSerializer(client), topic, records - have)
    ours = raw = decoded = 0.0
    for _ in range(rounds):
        raw = max(raw, _raw_consume_rate(settings, topic, records))
        decoded = max(decoded, _raw_rate(settings, client, topic, records))
        ours = max(ours, _indexer_rate(settings, topic, records, home))
    print(f"indexer {ours:>10,.0f} events/s  raw consume(500) {raw:>10,.0f}/s (ratio "
          f"{ours / raw:4.2f})  consume+decode {decoded:>10,.0f}/s (ratio {ours / decoded:4.2f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with running_stack() as settings, tempfile.TemporaryDirectory(
        prefix="bench-lineage-"
    ) as home:
        client = registry.connect(settings)
        print(f"{args.records:,} events per run, best of {args.rounds} rounds", flush=True)
        met = pipeline_ratio(settings, client, Path(home), args.records, args.rounds)
        indexer_speed(settings, client, Path(home), args.records, args.rounds)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
