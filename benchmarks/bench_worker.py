"""Worker throughput vs a raw confluent-kafka loop, and produce-to-mail latency.

    python -m benchmarks.bench_worker [--records N] [--rounds R] [--rate R] [--seconds S]
                                      [--skip-latency] [--no-postgres] [--database-url URL]

1. Throughput: our worker runtime (decode, inbox check in the batch transaction, a no-op
   effect, offset store) against a bare `consume(500)` loop doing only the decode, on the same
   topic, interleaved, best of R rounds each, fresh consumer group per run. Target: >= 0.6
   with the SQLite inbox; the same figure with a throwaway PostgreSQL inbox follows (when
   PostgreSQL is installed).
2. Latency: a notifications worker process and the SMTP server process at a steady produce
   rate; for each mail, the time from the event's produce (its `occurred_at`, set just before
   `produce`) to the mail file in the Maildir. Reports p50/p99. The Django API's commit and
   the relay are not in this path (they belong to the web app's benchmark).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from benchmarks.common import percentile, report, report_figure
from consumers.metrics import worker_ready
from consumers.options import WorkerOptions
from consumers.runtime import Worker
from consumers.shop.testing import notification, search_upsert
from consumers.testing import message_ids, wait_until
from deploy.bootstrap import apply_catalog
from deploy.runtime import process
from deploy.runtime.ports import free_port
from deploy.runtime.process import ProcessSpec
from deploy.stack import INFRASTRUCTURE, Ports, Stack
from schemas import registry
from schemas.kafka_io import BULK_CONSUMER_CONF, produce_blocking
from schemas.serde import EventDeserializer, EventSerializer, event_headers

TARGET = 0.6
PARTITIONS = 3


class NoopHandler:
    """A transactional handler with no effect: what is left is the runtime's own cost."""

    name = "noop"
    topics = ()
    transactional = True

    def open(self, context) -> None:
        """No state."""

    def handle(self, event, tx) -> None:
        """The no-op effect."""

    def close(self) -> None:
        """No state."""


class TimedWorker(Worker):
    """Stops itself after `records` handled and remembers when the first batch began."""

    def __init__(self, *args, records: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.records = records
        self.started: float | None = None
        self.finished: float | None = None

    def _process_batch(self, messages):
        if self.started is None:
            self.started = time.perf_counter()
        super()._process_batch(messages)
        if sum(self.result.counts.values()) >= self.records and self.finished is None:
            self.finished = time.perf_counter()
            self.stop()


def _create_topic(settings, name: str) -> None:
    admin = AdminClient(settings.kafka_conf())
    admin.create_topics([NewTopic(name, num_partitions=PARTITIONS,
                                  replication_factor=1)])[name].result(timeout=30)


def _fill(settings, serializer, topic: str, records: int) -> None:
    producer = Producer(settings.kafka_conf(**{"linger.ms": 20, "batch.num.messages": 10000}))
    for i in range(records):
        event = search_upsert(f"doc-{i}", f"Document {i}", "body text " * 8)
        value = serializer.serialize("SearchDocumentUpserted", event)
        produce_blocking(producer, topic, value, key=event["document_id"].encode(),
                         headers=event_headers("SearchDocumentUpserted", event), poll_s=0.05)
    assert producer.flush(60) == 0


def _raw_rate(settings, client, topic: str, records: int) -> float:
    deserializer = EventDeserializer(client)
    consumer = Consumer(settings.kafka_conf(**{
        "group.id": f"bench-raw-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
        "auto.offset.reset": "earliest", **BULK_CONSUMER_CONF}))
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    seen = 0
    started = None
    deadline = time.monotonic() + 120
    try:
        while seen < records and time.monotonic() < deadline:
            batch = consumer.consume(500, 1.0)
            if batch and started is None:
                started = time.perf_counter()
            for msg in batch:
                if msg.error() is None:
                    deserializer.decode(msg.value())
                    seen += 1
        return seen / (time.perf_counter() - started)
    finally:
        consumer.close()


def _worker_rate(settings, topic: str, records: int, workdir: Path,
                 database_url: str | None) -> float:
    group = f"bench-worker-{uuid.uuid4().hex[:8]}"
    worker = TimedWorker(
        NoopHandler(), settings, group_id=group, topics=[topic], records=records,
        database_url=database_url or f"sqlite:///{workdir / (group + '.sqlite3')}",
        options=WorkerOptions(retry_delays_s=(1.0,)), name="noop",
    )
    timer = threading.Timer(180, worker.stop)  # bound the run if something goes wrong
    timer.start()
    try:
        worker.run()
    finally:
        timer.cancel()
    if worker.finished is None:
        raise RuntimeError(f"worker handled only {worker.result.counts} of {records}")
    return records / (worker.finished - worker.started)


def throughput(settings, client, records: int, rounds: int, workdir: Path,
               database_url: str | None = None) -> float:
    topic = f"bench.worker.{uuid.uuid4().hex[:8]}"
    _create_topic(settings, topic)
    _fill(settings, EventSerializer(client), topic, records)
    ours = base = 0.0
    for _ in range(rounds):
        base = max(base, _raw_rate(settings, client, topic, records))
        ours = max(ours, _worker_rate(settings, topic, records, workdir, database_url))
    where = "PostgreSQL" if database_url else "SQLite"
    report(f"worker vs raw consume(500)+decode, {where} inbox", ours, base, TARGET)
    return ours / base


def postgres_throughput(settings, client, records: int, rounds: int, workdir: Path) -> None:
    """The same comparison with the inbox in a throwaway PostgreSQL (skipped if not installed)."""
    from producer_django.testing import PostgresUnavailable, TemporaryPostgres

    pg = TemporaryPostgres()
    try:
        pg.start()
    except PostgresUnavailable as exc:
        print(f"worker, PostgreSQL inbox: skipped ({exc})")
        return
    try:
        throughput(settings, client, records, rounds, workdir, pg.create_database("bench"))
    finally:
        pg.stop()


def latency(settings, client, stack_home: Path, rate: float, seconds: float) -> None:
    topic = f"bench.notify.{uuid.uuid4().hex[:8]}"
    _create_topic(settings, topic)
    smtp_port, metrics_port = free_port(), free_port()
    maildir = stack_home / "bench-Maildir"
    smtp = process.spawn(ProcessSpec(
        argv=[sys.executable, "-m", "consumers.smtp_server", "--port", str(smtp_port),
              "--maildir", str(maildir)], log=stack_home / "bench-smtp.log"))
    worker = process.spawn(ProcessSpec(
        argv=[sys.executable, "-m", "deploy.cli", "worker", "notifications", "--topics", topic,
              "--group", f"bench-notify-{uuid.uuid4().hex[:8]}", "--smtp-port", str(smtp_port),
              "--metrics-port", str(metrics_port)],
        log=stack_home / "bench-worker.log",
        env={"PIPELINE_HOME": str(stack_home),
             "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
             "SCHEMA_REGISTRY_URL": settings.schema_registry_url}))
    try:
        wait_until(lambda: worker_ready(metrics_port), 60, what="the notifications worker")
        time.sleep(2)  # let the group assignment settle before the clock starts
        serializer = EventSerializer(client)
        producer = Producer(settings.kafka_conf(**{"linger.ms": 0}))
        produced_at: dict[str, float] = {}
        total = int(rate * seconds)
        start = time.time()
        for i in range(total):
            pause = start + i / rate - time.time()
            if pause > 0:
                time.sleep(pause)
            event = notification(i, "order_confirmation")
            event["occurred_at"] = datetime.now(UTC)
            value = serializer.serialize("NotificationRequested", event)
            produced_at[f"<{event['event_id']}@event-pipeline.local>"] = time.time()
            producer.produce(topic, key=event["user_id"].encode(), value=value,
                             headers=event_headers("NotificationRequested", event))
            producer.poll(0)
        producer.flush(30)
        wait_until(lambda: _count(maildir) >= total, 120, what=f"{total} mails")
        latencies = sorted(_delivery_times(maildir, produced_at))
    finally:
        process.stop(worker)
        process.stop(smtp)
    p50, p99 = percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000
    report_figure(f"worker produce -> mail at {rate:.0f}/s for {seconds:.0f}s",
                  f"p50 {p50:.1f} ms, p99 {p99:.1f} ms ({len(latencies)} mails)", "reported",
                  True)


def _count(maildir: Path) -> int:
    new = maildir / "new"
    return len(os.listdir(new)) if new.exists() else 0


def _delivery_times(maildir: Path, produced_at: dict[str, float]) -> list[float]:
    import email

    out = []
    for name in os.listdir(maildir / "new"):
        path = maildir / "new" / name
        with open(path, "rb") as fh:
            mid = email.message_from_binary_file(fh).get("Message-ID")
        if mid in produced_at:
            out.append(path.stat().st_mtime - produced_at[mid])
    assert len(message_ids(maildir)) == len(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_worker")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=20.0, help="events/s for the latency run")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--no-postgres", dest="postgres", action="store_false",
                        help="skip the throughput run with a throwaway PostgreSQL inbox")
    parser.add_argument("--database-url", default=None,
                        help="inbox database for the throughput run (default: a fresh SQLite "
                             "file per run; e.g. postgresql://...)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-worker-") as home:
        stack = Stack(home=Path(home), ports=Ports(
            kafka=free_port(), kafka_controller=free_port(), registry=free_port()))
        stack.up(only=INFRASTRUCTURE)
        try:
            apply_catalog(stack.settings)
            client = registry.connect(stack.settings)
            ratio = throughput(stack.settings, client, args.records, args.rounds, Path(home),
                               args.database_url)
            if args.postgres and not args.database_url:
                postgres_throughput(stack.settings, client, args.records, args.rounds,
                                    Path(home))
            if not args.skip_latency:
                latency(stack.settings, client, Path(home), args.rate, args.seconds)
        finally:
            stack.down()
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
