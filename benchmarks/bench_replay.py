"""Replay throughput vs Debian's kcat reading the same topic, side by side in the same run.

    python -m benchmarks.bench_replay [--events 1000000] [--rounds 3]

A topic of `--events` small StockAdjusted events (3 partitions) is produced once (reused when
it already holds them). Then, interleaved, end to end as a user runs them, output to /dev/null:

    baseline  kcat -C -b BROKER -t TOPIC -e -o beginning -q
    decoded   pipeline replay TOPIC --no-progress          (Avro decoded through the registry,
                                                            PII masking, NDJSON)
    raw       pipeline replay TOPIC --raw --no-progress    (no decoding, NDJSON with base64)

Targets: decoded >= 0.5 of kcat's rate, raw >= 0.9. Both run with the default processes (a
process per partition group, up to one per core); the same reads with `--processes 1` follow,
then one round of each file export (csv, avro, parquet; skip them with --no-exports) against
kcat. kcat is a benchmark-only dependency (`apt-get install kcat`).

A reported ceiling comes first: the least a Python replay can do, one process reading the topic
with the replay's consumer settings and writing each value and a newline (what kcat prints),
with no decoding or formatting (`python -m benchmarks.replay_floor TOPIC`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from benchmarks.common import report, running_stack, side_by_side
from schemas import registry
from schemas.serde import EventSerializer, event_headers

TOPIC = "bench.replay.stock"
PARTITIONS = 3
DISTINCT = 1000
EXPORT_FORMATS = ("csv", "avro", "parquet")


def stock_event(i: int) -> dict:
    sku = f"SKU-{i % 500}"
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC),
        "aggregate_id": sku,
        "aggregate_version": i + 1,
        "correlation_id": str(uuid.uuid4()),
        "causation_id": None,
        "producer": "bench",
        "sku": sku,
        "delta": (i % 7) - 3,
        "reason": "recount",
    }


def topic_size(settings, topic: str) -> int:
    consumer = Consumer(settings.kafka_conf(**{"group.id": "bench-size"}))
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            return -1
        total = 0
        for p in meta.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += high - low
        return total
    finally:
        consumer.close()


def ensure_topic(settings, events: int) -> int:
    """The topic with exactly `events` records; returns how long producing took (s, 0 if kept)."""
    size = topic_size(settings, TOPIC)
    if size == events:
        return 0.0
    admin = AdminClient(settings.kafka_conf())
    if size >= 0:
        admin.delete_topics([TOPIC])[TOPIC].result(30)
        time.sleep(2)
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])[TOPIC].result(30)
    serializer = EventSerializer(registry.connect(settings))
    samples = []
    for i in range(DISTINCT):
        event = stock_event(i)
        samples.append(
            (
                event["sku"].encode(),
                serializer.serialize("StockAdjusted", event),
                event_headers("StockAdjusted", event),
            )
        )
    producer = Producer(
        settings.kafka_conf(
            **{"linger.ms": 50, "batch.size": 1_000_000, "queue.buffering.max.messages": 1_000_000}
        )
    )
    started = time.perf_counter()
    for i in range(events):
        key, value, headers = samples[i % DISTINCT]
        while True:
            try:
                producer.produce(TOPIC, key=key, value=value, headers=headers)
                break
            except BufferError:
                producer.poll(0.1)
        if i % 10_000 == 0:
            producer.poll(0)
    if producer.flush(120) != 0:
        raise SystemExit("could not deliver the benchmark topic within 120 s")
    return time.perf_counter() - started


def timed_command(argv: list[str], env: dict, events: int):
    def run() -> int:
        with open(os.devnull, "wb") as sink:
            proc = subprocess.run(argv, stdout=sink, stderr=subprocess.PIPE, env=env, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{argv[:4]} failed: {proc.stderr.decode()[-2000:]}")
        return events

    return run


def run(events: int, rounds: int, export_formats=EXPORT_FORMATS) -> bool:
    kcat = shutil.which("kcat")
    if kcat is None:
        raise SystemExit("kcat is needed for this benchmark: apt-get install -y kcat")
    with running_stack() as settings:
        took = ensure_topic(settings, events)
        if took:
            print(f"produced {events:,} events to {TOPIC} in {took:.1f}s ({events / took:,.0f}/s)")
        env = dict(
            os.environ,
            KAFKA_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
            SCHEMA_REGISTRY_URL=settings.schema_registry_url,
        )
        baseline = timed_command(
            [
                kcat,
                "-C",
                "-b",
                settings.bootstrap_servers,
                "-t",
                TOPIC,
                "-e",
                "-o",
                "beginning",
                "-q",
            ],
            env,
            events,
        )
        floor = timed_command([sys.executable, "-m", "benchmarks.replay_floor", TOPIC], env,
                              events)
        ours, base = side_by_side(floor, baseline, rounds)
        report(f"ceiling: bare Python consume loop vs kcat ({events:,})", ours, base, None)
        replay = [sys.executable, "-m", "deploy.cli", "replay", TOPIC, "--no-progress"]
        decoded = timed_command(replay, env, events)
        raw = timed_command([*replay, "--raw"], env, events)
        ours, base = side_by_side(decoded, baseline, rounds)
        ok = report(f"replay decoded NDJSON vs kcat ({events:,})", ours, base, 0.5)
        ours, base = side_by_side(raw, baseline, rounds)
        ok &= report(f"replay --raw NDJSON vs kcat ({events:,})", ours, base, 0.9)
        # What the partition-group processes add: the same reads in one process.
        one = [*replay, "--processes", "1"]
        ours, base = side_by_side(timed_command(one, env, events), decoded, rounds)
        report(f"replay decoded, 1 process vs default ({events:,})", ours, base, None)
        ours, base = side_by_side(timed_command([*one, "--raw"], env, events), raw, rounds)
        report(f"replay --raw, 1 process vs default ({events:,})", ours, base, None)
        with tempfile.TemporaryDirectory(prefix="bench-replay-") as out:
            for fmt in export_formats:
                export = timed_command([*replay, "--out", f"{out}/export.{fmt}"], env, events)
                ours, base = side_by_side(export, baseline, 1)
                report(f"replay export {fmt} vs kcat ({events:,})", ours, base, None)
        return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-exports", action="store_true",
                        help="skip the csv, avro and parquet figures (one round each)")
    args = parser.parse_args(argv)
    formats = () if args.no_exports else EXPORT_FORMATS
    return 0 if run(args.events, args.rounds, formats) else 1


if __name__ == "__main__":
    sys.exit(main())
