"""Relay throughput against two baselines, and commit -> ack latency at a steady rate.

    python -m benchmarks.bench_relay [--events 20000] [--aggregates 5000] [--rounds 3]
                                     [--no-postgres]

On its own broker and registry, for SQLite (and a throwaway PostgreSQL when present), with an
outbox of `--events` StockAdjusted rows over `--aggregates` skus, side by side in one run:

    relay     the real relay pass: claim heads, serialize (Avro, registry ids cached), produce
              with the idempotent producer, wait for every delivery report, mark
    db-only   the same claim and mark with no Kafka at all          target: relay >= 0.7
    raw       a plain confluent-kafka Producer sending the same      target: relay >= 0.15
              pre-serialized bytes, keys and headers, then flush

Two reported ceilings say how far each target is from reach on the machine it runs on. The
relay's Kafka side alone (serialize, produce and wait for the reports of the same rows, in the
same batches, with no database) vs the db-only drain bounds relay / db-only from above, however
one relay overlapped claiming with producing; the db-only drain vs the raw producer bounds
relay / raw the same way.

Then four writers commit 500 events/s together for 10 s (each transaction writes one event,
`shop_workload --event-only`) while `manage.py relay_outbox` runs as its own process;
latency = published_at - created_at of each row (created just before its commit, published
right after its delivery report). Prints p50, p99 and the rate the rows were committed at
(first to last created_at). Target on PostgreSQL: 500/s held, p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from benchmarks.common import (
    ChildFailed,
    percentile,
    report,
    report_figure,
    run_shop_child,
    running_stack,
    side_by_side,
)

TARGET_DB_ONLY = 0.7
TARGET_RAW = 0.15
RATE = 500  # events/s for the latency run
TARGET_P99_MS = 100  # on PostgreSQL
WRITERS = 4
WRITERS_START_S = 15.0  # time for the writers to start Django before their common start
WRITES = 5000


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        return _child(args)
    ok = True
    with running_stack() as settings:
        for db in ["sqlite"] + ([] if args.no_postgres else ["postgres"]):
            try:
                r = run_shop_child(
                    "benchmarks.bench_relay", db,
                    ["--events", str(args.events), "--aggregates", str(args.aggregates),
                     "--rounds", str(args.rounds)],
                    env={"KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
                         "SCHEMA_REGISTRY_URL": settings.schema_registry_url},
                )
            except ChildFailed as exc:
                print(exc)
                return 1
            if r is not None:
                ok &= report(f"relay vs db-only drain ({db})", *r["db_only"], TARGET_DB_ONLY)
                ok &= report(f"relay vs raw producer ({db})", *r["raw"], TARGET_RAW)
                report(f"ceiling: relay Kafka side alone vs db-only drain ({db})",
                       *r["kafka_side"], None)
                report(f"ceiling: db-only drain vs raw producer ({db})", *r["db_vs_raw"], None)
                lat = r["latency"]
                measured = (f"p50 {lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms "
                            f"({lat['events']} events committed at {lat['rate']:.0f}/s)")
                if db == "postgres":
                    held = lat["rate"] >= RATE * 0.95 and lat["p99_ms"] <= TARGET_P99_MS
                    ok &= report_figure(f"commit -> ack latency at {RATE}/s ({db})", measured,
                                        f"{RATE}/s held, p99 ≤ {TARGET_P99_MS} ms", held)
                else:
                    report_figure(f"commit -> ack latency at {RATE}/s ({db})", measured,
                                  "reported", True)
    return 0 if ok else 1


def _child(args) -> int:
    import django

    django.setup()
    from confluent_kafka import Producer
    from django.core.management import call_command
    from django.db import connection, transaction

    from producer_django.events.models import OutboxEvent
    from producer_django.events.publish import publish
    from producer_django.events.relay.rows import ClaimedRow
    from producer_django.events.relay.runner import build_relay
    from producer_django.events.relay.sender import SendResult
    from schemas.kafka_io import produce_blocking

    call_command("migrate", verbosity=0)
    for start in range(0, args.events, 1000):
        with transaction.atomic():
            for n in range(start, min(start + 1000, args.events)):
                publish("StockAdjusted", {"sku": f"R-{n % args.aggregates}", "delta": 1,
                                          "reason": "bench"})
    relay = build_relay()
    store, sender = relay.store, relay.sender
    # What Relay.run does when it starts (and autovacuum on its own): without statistics
    # PostgreSQL plans the claim as a scan and sort of every pending row. Once, after loading:
    # every reset below leaves the same rows pending.
    store.refresh_statistics()

    def reset() -> None:
        OutboxEvent.objects.update(published_at=None, attempts=0, available_at=_epoch())

    def drain(send) -> int:
        reset()
        total = 0
        while True:
            with store.batch():
                rows = store.claim()
                if not rows:
                    return total
                sent = send(rows)
                store.mark(rows, sent.results, sent.dead)
            total += sent.delivered

    def ours() -> int:
        return drain(lambda rows: sender.send(rows, progress=lambda: None))

    def db_only() -> int:
        return drain(lambda rows: SendResult({row.id: None for row in rows}))

    rows = [r for r in OutboxEvent.objects.order_by("id")]
    from schemas.serde import event_headers

    wire = [
        (r.topic, r.key.encode(), sender.serializer.serialize(r.event_type, r.payload),
         event_headers(r.event_type, {**r.payload, "traceparent": r.traceparent}))
        for r in rows
    ]
    raw_producer = Producer(sender.settings.kafka_conf(**{"linger.ms": 5}))

    def raw() -> int:
        for topic, key, value, headers in wire:
            produce_blocking(raw_producer, topic, value, key=key, headers=headers)
        raw_producer.flush(60)
        return len(wire)

    # The rows as claims return them, in claim-sized batches, for the Kafka side alone.
    batches = [
        [ClaimedRow(r.id, r.event_type, r.topic, r.key, r.payload, r.traceparent, 0)
         for r in rows[i:i + store.batch_size]]
        for i in range(0, len(rows), store.batch_size)
    ]

    def kafka_side() -> int:
        return sum(sender.send(batch, progress=lambda: None).delivered for batch in batches)

    assert ours() == args.events  # warm-up, and proof every row goes through
    assert kafka_side() == args.events
    results = {
        "db_only": side_by_side(ours, db_only, rounds=args.rounds),
        "raw": side_by_side(ours, raw, rounds=args.rounds),
        "kafka_side": side_by_side(kafka_side, db_only, rounds=args.rounds),
        "db_vs_raw": side_by_side(db_only, raw, rounds=args.rounds),
        "latency": _latency(connection),
    }
    sender.close()
    print(json.dumps(results))
    return 0


def _latency(connection) -> dict:
    import time

    from producer_django.events.models import OutboxEvent
    from producer_django.stack import manage_argv

    OutboxEvent.objects.all().delete()
    relay = subprocess.Popen(manage_argv("relay_outbox"), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        time.sleep(8)  # let the relay start before the clock runs
        subprocess.run(manage_argv("shop_workload", "--prefix", "L", "--skus", "200",
                                   "--events", "0", "--setup"), check=True,
                       stdout=subprocess.DEVNULL)
        # Four writers at 125/s each: one process cannot commit 500/s on a busy machine. They
        # start their clocks together, once all four have started Django (a few seconds each
        # on 2 cores): staggered starts made the first and last seconds a lower rate. Each
        # transaction writes only its event: with the shop's stock update too, four writers
        # on 2 cores beside PostgreSQL, the broker and the relay committed about 340/s.
        start_at = time.time() + WRITERS_START_S
        writers = [
            subprocess.Popen(manage_argv("shop_workload", "--prefix", "L", "--skus", "200",
                                         "--events", str(WRITES // WRITERS),
                                         "--rate", str(RATE / WRITERS), "--seed", str(n),
                                         "--start-at", str(start_at), "--event-only"),
                             stdout=subprocess.DEVNULL)
            for n in range(WRITERS)
        ]
        if any(w.wait(300) != 0 for w in writers):
            raise RuntimeError("a latency writer failed")
        deadline = time.monotonic() + 120
        while OutboxEvent.objects.filter(published_at__isnull=True).exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the relay did not drain the latency run")
            time.sleep(0.2)
    finally:
        relay.terminate()
        relay.wait(60)
    rows = list(OutboxEvent.objects.filter(event_type="StockAdjusted")
                .values_list("created_at", "published_at"))
    lat = sorted((p - c).total_seconds() * 1000 for c, p in rows)
    # The rate the writers committed at, from the rows themselves: the writers' own start-up
    # (Django, in four processes) is not part of it.
    created = sorted(c for c, _ in rows)
    span = (created[-1] - created[0]).total_seconds()
    return {"events": len(lat), "rate": (len(lat) - 1) / span,
            "p50_ms": percentile(lat, 0.5), "p99_ms": percentile(lat, 0.99)}


def _epoch():
    from datetime import UTC, datetime

    return datetime(2000, 1, 1, tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench_relay", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--aggregates", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser


if __name__ == "__main__":
    sys.exit(main())
