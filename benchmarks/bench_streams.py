"""Stream apps vs a bare faust agent, and vs the same inventory logic on Quix Streams, in one
run over the same records.

    python -m benchmarks.bench_streams [--records N] [--rounds R] [--app-rounds A] [--no-peer]

All figures read the same StockAdjusted records on shop.inventory:
- consume(500): a confluent-kafka loop, decode with the shared EventDeserializer, dict update
  (what Kafka and the decode cost without a framework);
- bare faust agent (streams.shop.bench_app:app_no_table): decode + dict update, faust's own
  delivery path alone: the floor the apps are measured against;
- faust inventory (the declared `inventory` app): re-key by SKU through an internal topic,
  dedupe, table + changelog, InventoryLevel out;
- faust fanout (the declared `fanout` app): one CacheInvalidated out per StockAdjusted;
- Quix inventory (benchmarks/peer_quix.py, in its own virtualenv): the same inventory logic on
  Quix Streams (group_by repartition, RocksDB state with changelog, InventoryLevel out).
Rates exclude start-up: records / (last - first output record's producer timestamp) for the
apps, the first to the last record handled for the bare agent and Quix (its own clock: Quix
stamps an output record with its input's timestamp). Each figure is the best of `--app-rounds`
rounds (2), and a round runs the bare agent, the inventory app, the fanout app and Quix in turn:
on 2 cores a single run of an app swung between 0.39 and 0.88 of the bare agent.
Targets: inventory and fanout >= 0.7 of the bare agent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from confluent_kafka import Consumer

from benchmarks.common import report, running_stack
from schemas import catalog, registry
from schemas.serde import EventDeserializer, EventSerializer
from streams.testing import (
    WorkerProcess,
    create_topics,
    free_port,
    publish,
    read_topic,
    topic_size,
    wait_until,
)

TARGET = 0.7
SKUS = 200
QUIXSTREAMS = "quixstreams==3.28.1"
# Any valid InventoryLevel: encoding it registers (or finds) the schema the Quix side writes.
LEVEL_SAMPLE = {
    "event_id": "00000000-0000-0000-0000-000000000000", "occurred_at": 0,
    "aggregate_id": "B-0", "aggregate_version": 1, "correlation_id": "bench",
    "causation_id": None, "producer": "bench", "sku": "B-0", "on_hand": 0,
}


def stock_adjusted(n: int, now: datetime) -> dict:
    return {
        "event_id": str(uuid.uuid4()), "occurred_at": now, "aggregate_id": f"B-{n % SKUS}",
        "aggregate_version": n // SKUS + 1, "correlation_id": str(uuid.uuid4()),
        "causation_id": None, "producer": "bench", "sku": f"B-{n % SKUS}",
        "delta": 1 if n % 3 else -1, "reason": "bench",
    }


def produce(settings, serializer, records: int) -> None:
    now = datetime.now(UTC)
    publish(settings, serializer, [("StockAdjusted", stock_adjusted(n, now))
                                   for n in range(records)], flush_timeout_s=120)


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


def output_rate(settings, topic: str, records: int) -> float:
    """Records/s from the producer timestamps of an app's output: `records` handled between the
    first and the last output record (an app that coalesces writes fewer records than that)."""
    stamps = [m.timestamp()[1] for m in read_topic(settings, topic, timeout_s=120)]
    return records / ((max(stamps) - min(stamps)) / 1000)


def faust_inventory(settings, home: Path, records: int) -> float:
    tag = uuid.uuid4().hex[:8]
    levels = f"bench.{tag}.levels"
    create_topics(settings, [levels], compacted=True)
    create_topics(settings, [f"bench.{tag}.alerts"])
    worker = WorkerProcess(
        "inventory", settings, app_id=f"bench-inv-{tag}", workdir=home / f"inventory-{tag}",
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
        return output_rate(settings, levels, records)
    finally:
        worker.stop()


def faust_fanout(settings, home: Path, records: int) -> float:
    """The fanout app derives one CacheInvalidated per StockAdjusted (to its own topics)."""
    tag = uuid.uuid4().hex[:8]
    prefix = f"bench.{tag}."
    cache = prefix + catalog.event_type("CacheInvalidated").topic
    worker = WorkerProcess(
        "fanout", settings, app_id=f"bench-fan-{tag}", workdir=home / f"fanout-{tag}",
        web_port=free_port(), env={"STREAMS_OUTPUT_PREFIX": prefix},
    ).start()
    try:
        wait_until(lambda: topic_size(settings, cache) >= records, 900,
                   "the fanout app to derive every CacheInvalidated", interval_s=1.0)
        return output_rate(settings, cache, records)
    finally:
        worker.stop()


def schema_id(framed: bytes) -> int:
    return int.from_bytes(framed[1:5], "big")


def quix_python() -> Path:
    """The Quix Streams virtualenv's python, created on first use under the user's cache
    (quixstreams pins an older confluent-kafka than the project's)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    venv = cache / "event-pipeline" / f"quix-{QUIXSTREAMS.replace('==', '-')}"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} (pip install {QUIXSTREAMS}) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", QUIXSTREAMS], check=True)
    return python


def quix_inventory(settings, client, home: Path, records: int) -> float:
    tag = uuid.uuid4().hex[:8]
    levels = f"bench.{tag}.quix-levels"
    create_topics(settings, [levels], compacted=True)
    serializer = EventSerializer(client)
    # The schema ids the records carry (the registry answers the same id for the same schema).
    sample = stock_adjusted(0, datetime.now(UTC))
    writer_id = schema_id(serializer.serialize("StockAdjusted", sample))
    level_id = schema_id(serializer.serialize("InventoryLevel", LEVEL_SAMPLE))
    config = {
        "bootstrap": settings.bootstrap_servers, "topic": "shop.inventory",
        "group": f"bench-quix-{tag}", "state_dir": str(home / f"quix-{tag}"),
        "levels_topic": levels, "records": records, "threshold": -1000000,
        "producer": f"bench-quix-{tag}",
        "writer_schemas": {writer_id: client.get_schema(writer_id).schema_str},
        "level_schema_id": level_id, "level_schema": client.get_schema(level_id).schema_str,
    }
    done = subprocess.run(
        [str(quix_python()), str(Path(__file__).with_name("peer_quix.py")), json.dumps(config)],
        capture_output=True, text=True, timeout=1800,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the Quix Streams child failed:\n{done.stderr[-3000:]}")
    # Its own clock (first record split to last change applied): Quix gives an output record
    # its input record's timestamp, so the output stamps say nothing about processing time.
    return json.loads(done.stdout.strip().splitlines()[-1])["rate"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_streams")
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3, help="consume(500) rounds (best counts)")
    parser.add_argument("--app-rounds", type=int, default=2,
                        help="rounds of the bare agent, the apps and Quix (best counts)")
    parser.add_argument("--no-peer", action="store_true", help="skip the Quix Streams figure")
    args = parser.parse_args(argv)
    records = args.records - args.records % SKUS
    with running_stack() as settings, tempfile.TemporaryDirectory(prefix="bench-streams-") as d:
        client = registry.connect(settings)
        produce(settings, EventSerializer(client), records)
        base = max(baseline(settings, client, records) for _ in range(args.rounds))
        bare = inventory = fanout = quix = 0.0
        for _ in range(args.app_rounds):
            bare = max(bare, faust_minimal(settings, Path(d), records, "app_no_table"))
            inventory = max(inventory, faust_inventory(settings, Path(d), records))
            fanout = max(fanout, faust_fanout(settings, Path(d), records))
            if not args.no_peer:
                quix = max(quix, quix_inventory(settings, client, Path(d), records))
    print(f"{records} StockAdjusted records on shop.inventory, {SKUS} SKUs")
    report("bare faust agent vs consume(500)", bare, base, None)
    met = [
        report("faust inventory app vs bare faust agent", inventory, bare, TARGET),
        report("faust fanout app vs bare faust agent", fanout, bare, TARGET),
    ]
    if quix:
        # Informational: this figure decides whether faust stays the engine for heavy apps.
        report("faust inventory app vs Quix Streams", inventory, quix, None)
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
