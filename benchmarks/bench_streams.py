"""Inventory table updates/s through faust vs a hand-written confluent-kafka consume(500) loop
that does the same decode and dict update on the same topic, in one run.

    python -m benchmarks.bench_streams [--records N] [--rounds R]

Four figures, all over the same StockAdjusted records on shop.inventory:
- baseline: `consume(500)`, decode with the shared EventDeserializer, `dict[sku] += delta`;
- faust agent, decode + dict (streams.shop.bench_app:app_no_table): faust's consuming path alone;
- faust agent, decode + table (streams.shop.bench_app): plus a RocksDB table write and changelog;
- faust inventory (the declared `inventory` app): the real app: re-key by SKU through an
  internal topic, dedupe, table + changelog, InventoryLevel out.
Rates exclude start-up: they run from the first to the last record processed. Target: the
inventory app at >= 0.5 of the baseline.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from confluent_kafka import Consumer

from benchmarks.common import report, running_stack
from schemas import registry
from schemas.serde import EventDeserializer, EventSerializer
from streams.testing import (
    WorkerProcess,
    create_topics,
    free_port,
    publish,
    read_topic,
    wait_until,
)

TARGET = 0.5
SKUS = 200


def produce(settings, serializer, records: int) -> None:
    now = datetime.now(UTC)
    events = [
        ("StockAdjusted", {
            "event_id": str(uuid.uuid4()), "occurred_at": now, "aggregate_id": f"B-{n % SKUS}",
            "aggregate_version": n // SKUS + 1, "correlation_id": str(uuid.uuid4()),
            "causation_id": None, "producer": "bench", "sku": f"B-{n % SKUS}",
            "delta": 1 if n % 3 else -1, "reason": "bench",
        })
        for n in range(records)
    ]
    publish(settings, serializer, events, flush_timeout_s=120)


def baseline(settings, client, records: int) -> float:
    """Records/s of a confluent-kafka consume(500) loop: decode, then a dict update."""
    deserializer = EventDeserializer(client)
    consumer = Consumer(settings.kafka_conf(**{
        "group.id": f"bench-baseline-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
    }))
    consumer.subscribe(["shop.inventory"])
    levels: dict[str, int] = {}
    seen, first = 0, None
    deadline = time.monotonic() + 300
    try:
        while seen < records and time.monotonic() < deadline:
            for msg in consumer.consume(500, timeout=1.0):
                if msg.error():
                    continue
                first = first or time.perf_counter()
                _, event = deserializer.decode(msg.value())
                levels[event["sku"]] = levels.get(event["sku"], 0) + event["delta"]
                seen += 1
        return seen / (time.perf_counter() - first)
    finally:
        consumer.close()


def faust_minimal(settings, home: Path, records: int, variant: str = "app") -> float:
    tag = uuid.uuid4().hex[:8]
    worker = WorkerProcess("bench", settings, app_id=f"bench-min-{tag}",
                           workdir=home / f"minimal-{tag}", web_port=free_port(),
                           target=f"streams.shop.bench_app:{variant}").start()
    try:
        progress = wait_until(
            lambda: (p := worker.get("/bench").json())["count"] >= records and p,
            600, "the minimal faust app to process every record", interval_s=1.0)
        return progress["count"] / (progress["last"] - progress["first"])
    finally:
        worker.stop()


def faust_inventory(settings, home: Path, records: int) -> float:
    tag = uuid.uuid4().hex[:8]
    levels = f"bench.{tag}.levels"
    create_topics(settings, [levels], compacted=True)
    create_topics(settings, [f"bench.{tag}.alerts"])
    worker = WorkerProcess(
        "inventory", settings, app_id=f"bench-inv-{tag}", workdir=home / "inventory",
        web_port=free_port(),
        env={"STREAMS_LEVELS_TOPIC": levels, "STREAMS_ALERTS_TOPIC": f"bench.{tag}.alerts",
             "STREAMS_LOW_STOCK_THRESHOLD": "-1000000"},
    ).start()
    try:
        def applied() -> int:
            try:
                states = [worker.get(f"/inventory/B-{n}").json() for n in range(0, SKUS, 50)]
            except (httpx.HTTPError, ValueError):
                return 0
            return all(s.get("version") == records // SKUS for s in states)

        wait_until(applied, 900, "the inventory app to apply every record", interval_s=1.0)
        # Producer timestamps of the InventoryLevel records: first to last applied change.
        stamps = [m.timestamp()[1] for m in read_topic(settings, levels, timeout_s=120)]
        return len(stamps) / ((max(stamps) - min(stamps)) / 1000)
    finally:
        worker.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_streams")
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3, help="baseline rounds (best counts)")
    args = parser.parse_args(argv)
    records = args.records - args.records % SKUS
    with running_stack() as settings, tempfile.TemporaryDirectory(prefix="bench-streams-") as d:
        client = registry.connect(settings)
        produce(settings, EventSerializer(client), records)
        base = max(baseline(settings, client, records) for _ in range(args.rounds))
        consume_only = faust_minimal(settings, Path(d), records, "app_no_table")
        minimal = faust_minimal(settings, Path(d), records)
        full = faust_inventory(settings, Path(d), records)
        base = max(base, baseline(settings, client, records))  # once more, after the faust runs
    print(f"{records} StockAdjusted records on shop.inventory, {SKUS} SKUs")
    # Where the time goes: faust's per-event path alone, then one table write (+ changelog).
    report("faust agent, decode + dict vs consume(500)", consume_only, base, TARGET)
    report("faust agent, decode + table vs consume(500)", minimal, base, TARGET)
    return 0 if report("faust inventory app vs consume(500)", full, base, TARGET) else 1


if __name__ == "__main__":
    sys.exit(main())
