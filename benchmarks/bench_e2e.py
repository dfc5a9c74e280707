"""End to end: API commit to confirmation mail, next to raw produce -> consume, in one run.

    python -m benchmarks.bench_e2e [--rate R] [--seconds S] [--threads T] [--postgres]

The real shop stack (`pipeline up`'s components in a temporary home: broker, registry, web app,
relay, the stream apps, the notifications worker, the SMTP server writing a Maildir).

1. Raw: one producer sends small records at R/s to a fresh topic (linger.ms 0) and one consumer
   polls them; latency = consumer receipt - the moment before `produce`.
2. Ours: customers POST orders to the shop API at R/s for S seconds; latency = the confirmation
   mail's file time in the Maildir - the moment the API answered 201 (its commit). The path
   is web commit -> outbox -> relay -> Kafka -> stream app -> Kafka -> worker -> SMTP -> Maildir.

Raw runs first, then ours, on the same broker. Target: ours p99 <= 3x raw p99. The run counts
only if the API accepted 95% of the asked rate. On SQLite every component writes to one file;
--postgres puts their tables on a throwaway PostgreSQL server instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from benchmarks.common import percentile, report_figure, stack_database
from consumers.testing import wait_until
from deploy.runtime.bringup import up_with_catalog
from deploy.runtime.ports import free_port
from deploy.stack import Ports, Stack
from producer_django.shop.testing import MailWatch, OrderFlow, ShopApi

COMPONENTS = {"django", "relay", "smtp", "streams-fanout", "streams-inventory",
              "worker-notifications"}
P99_FACTOR = 3.0
STOCK = 100_000_000
# The share of the asked rate the API must accept for the run to count as "steady".
RATE_HELD = 0.95


def raw_latencies(settings, rate: float, seconds: float) -> list[float]:
    """Seconds from just before `produce` to the consumer's receipt, one per record."""
    topic = f"bench.e2e.raw.{uuid.uuid4().hex[:8]}"
    admin = AdminClient(settings.kafka_conf())
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
    consumer = Consumer(settings.kafka_conf(**{
        "group.id": f"bench-e2e-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
        "fetch.wait.max.ms": 100}))
    # Assigned, not subscribed: no group rebalance to wait for on a fresh topic.
    consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
    sent: dict[bytes, float] = {}
    received: dict[bytes, float] = {}
    total = int(rate * seconds)
    done = threading.Event()

    def consume() -> None:
        while not done.is_set():
            msg = consumer.poll(0.1)
            if msg is not None and msg.error() is None:
                received[msg.key()] = time.time()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    try:
        producer = Producer(settings.kafka_conf(**{"linger.ms": 0}))
        payload = b"x" * 200  # about an OrderPlaced record's size
        for i in range(10):  # warm up: connections and fetches going before the clock
            producer.produce(topic, key=f"warm-{i}".encode(), value=payload)
        producer.flush(30)
        wait_until(lambda: len(received) >= 10, 60, what="the raw warm-up records")
        received.clear()
        began = time.time()
        for i in range(total):
            pause = began + i / rate - time.time()
            if pause > 0:
                time.sleep(pause)
            key = f"raw-{i}".encode()
            sent[key] = time.time()
            producer.produce(topic, key=key, value=payload)
            producer.poll(0)
        producer.flush(30)
        wait_until(lambda: len(received) >= total, 60, what=f"{total} raw records consumed")
    finally:
        done.set()
        reader.join(10)
        consumer.close()
    return [received[k] - at for k, at in sent.items() if k in received]


def order_latencies(report: dict, rate: float, seconds: float,
                    threads: int) -> tuple[list[float], float, int]:
    """(seconds from each order's 201 to its confirmation mail, orders/s accepted, failures)."""
    api = ShopApi.of(report)
    tag = uuid.uuid4().hex[:6]
    try:
        skus = api.create_products(f"E2E-{tag}", 8, STOCK)
        users = [api.register(f"e2e{n}-{tag}@example.test", f"Customer {n}") for n in range(20)]
    finally:
        api.close()
    mails = MailWatch(report["smtp"]["maildir"])
    # Warm up the whole path (connections, caches, the worker's first batch) before the clock.
    warm = OrderFlow(lambda: ShopApi.of(report), users, skus, rate=5, threads=1).start()
    wait_until(lambda: mails.poll() is not None and len(mails.confirmations()) >= 5, 180,
               interval_s=0.5, what="the first confirmation mails")
    warm.stop()
    flow = OrderFlow(lambda: ShopApi.of(report), users, skus, rate=rate, threads=threads).start()
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        time.sleep(1)
        mails.poll()
    flow.stop()
    held = len(flow.placed) / (time.perf_counter() - began)
    wanted = {o.order_id for o in flow.placed}
    wait_until(lambda: mails.poll() is not None and set(mails.confirmations()) >= wanted, 240,
               interval_s=1, what=f"{len(wanted)} confirmation mails")
    confirmations = mails.confirmations()
    latencies = [min(m.delivered_at for m in confirmations[o.order_id]) - o.committed_at
                 for o in flow.placed]
    return latencies, held, len(flow.failures)


def _ms(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return percentile(ordered, 0.50) * 1000, percentile(ordered, 0.99) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_e2e")
    parser.add_argument("--rate", type=float, default=100.0, help="orders/s (and raw records/s)")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--threads", type=int, default=8, help="API client threads")
    parser.add_argument("--postgres", action="store_true",
                        help="every component's tables on a throwaway PostgreSQL server")
    args = parser.parse_args(argv)
    # One client token places every order: the per-user write throttle would measure itself.
    os.environ.setdefault("DJANGO_WRITE_THROTTLE_RATE", "off")
    where = "PostgreSQL" if args.postgres else "SQLite"
    with (tempfile.TemporaryDirectory(prefix="pipeline-bench-e2e-") as home,
          stack_database(args.postgres)):
        stack = Stack(home=Path(home), ports=Ports(free_port(), free_port(), free_port()),
                      external=set())
        try:
            up_with_catalog(stack, only=COMPONENTS)
            raw = raw_latencies(stack.settings, args.rate, args.seconds)
            ours, held, failures = order_latencies(stack.status(), args.rate, args.seconds,
                                                   args.threads)
        finally:
            stack.down()
    raw_p50, raw_p99 = _ms(raw)
    p50, p99 = _ms(ours)
    rate_ok = report_figure(
        f"e2e orders accepted at {args.rate:.0f}/s asked ({where})",
        f"{held:.1f}/s held for {args.seconds:.0f}s, {failures} failed requests",
        f">= {RATE_HELD * args.rate:.0f}/s, 0 failed",
        held >= RATE_HELD * args.rate and not failures)
    latency_ok = report_figure(
        f"e2e API commit -> mail vs raw produce -> consume ({where})",
        f"ours p50 {p50:.0f} ms p99 {p99:.0f} ms ({len(ours)} mails); raw p50 {raw_p50:.1f} ms "
        f"p99 {raw_p99:.1f} ms; p99 {p99 / raw_p99:.1f}x raw",
        f"p99 <= {P99_FACTOR:.0f}x raw p99", p99 <= P99_FACTOR * raw_p99)
    return 0 if rate_ok and latency_ok else 1


if __name__ == "__main__":
    sys.exit(main())
