"""A synthetic shop workload for driving the stream apps (tests, benchmarks, demos).

`Workload` generates well-formed catalog events the way the shop would (orders only when the
stock allows, as the Django API answers 409 otherwise) and keeps its own independent
recomputation of every SKU's on-hand level and units sold. `publish` writes the events with
the shared EventSerializer and headers through a plain confluent-kafka producer.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from schemas import catalog
from schemas.serde import EventSerializer, event_headers


@dataclass
class Workload:
    seed: int = 7
    prefix: str = ""
    producer_name: str = "workload"
    events: list[tuple[str, dict]] = field(default_factory=list)
    on_hand: dict[str, int] = field(default_factory=dict)
    sold: Counter = field(default_factory=Counter)
    users: dict[str, dict] = field(default_factory=dict)
    orders: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self):
        self._rng = random.Random(self.seed)
        self._versions: Counter = Counter()
        self._user_ids: list[str] = []
        self._skus: list[str] = []

    # -- single events ----------------------------------------------------------------------

    def event(self, event_type: str, aggregate_id: str, at: datetime | None = None, **payload):
        self._versions[aggregate_id] += 1
        record = {
            # Random, not seeded: two runs of the same workload must not share event ids.
            "event_id": str(uuid.uuid4()),
            "occurred_at": at or datetime.now(UTC),
            "aggregate_id": aggregate_id,
            "aggregate_version": self._versions[aggregate_id],
            "correlation_id": str(uuid.uuid4()),
            "causation_id": None,
            "producer": self.producer_name,
            **payload,
        }
        self.events.append((event_type, record))
        return record

    def user(self, n: int) -> str:
        user_id = f"{self.prefix}u-{n}"
        email, name = f"user{n}@example.com", f"User {n}"
        self.users[user_id] = {"email": email, "name": name}
        self.event("UserRegistered", user_id, user_id=user_id, email=email, name=name)
        return user_id

    def product(self, n: int, stock: int) -> str:
        sku = f"{self.prefix}SKU-{n}"
        self.on_hand[sku] = stock
        self.event("ProductCreated", sku, sku=sku, name=f"Product {n}", price_cents=100 + n,
                   stock=stock)
        return sku

    def place(self, user_id: str, lines: dict[str, int], at: datetime | None = None) -> str | None:
        if any(self.on_hand[sku] < q for sku, q in lines.items()):
            return None  # the shop answers 409 and writes no event
        order_id = f"{self.prefix}o-{len(self.orders) + 1}"
        rows = [{"sku": s, "quantity": q, "unit_price_cents": 100} for s, q in lines.items()]
        for sku, q in lines.items():
            self.on_hand[sku] -= q
            self.sold[sku] += q
        self.orders[order_id] = {"user_id": user_id, "lines": rows, "state": "placed"}
        self.event("OrderPlaced", order_id, at=at, order_id=order_id, user_id=user_id,
                   lines=rows, total_cents=100 * sum(lines.values()))
        return order_id

    def cancel(self, order_id: str) -> None:
        order = self.orders[order_id]
        order["state"] = "cancelled"
        for row in order["lines"]:
            self.on_hand[row["sku"]] += row["quantity"]
        self.event("OrderCancelled", order_id, order_id=order_id, user_id=order["user_id"],
                   reason="changed mind", lines=order["lines"])

    def ship(self, order_id: str) -> None:
        order = self.orders[order_id]
        order["state"] = "shipped"
        self.event("OrderShipped", order_id, order_id=order_id, user_id=order["user_id"],
                   carrier="DHL", tracking_number=f"T-{order_id}")

    def adjust(self, sku: str, delta: int) -> None:
        self.on_hand[sku] += delta
        self.event("StockAdjusted", sku, sku=sku, delta=delta, reason="recount")

    # -- a mixed workload -------------------------------------------------------------------

    def mixed(self, *, users: int = 5, products: int = 8, steps: int = 200) -> Workload:
        """Registrations and products first, then orders, cancellations, shipments, recounts."""
        self._user_ids = [self.user(n) for n in range(users)]
        self._skus = [self.product(n, self._rng.randint(5, 40)) for n in range(products)]
        return self.steps(steps)

    def steps(self, count: int) -> Workload:
        """`count` more random shop actions on the users and products made by `mixed`."""
        user_ids, skus = self._user_ids, self._skus
        for _ in range(count):
            roll = self._rng.random()
            placed = [o for o, v in self.orders.items() if v["state"] == "placed"]
            if roll < 0.6 or not placed:
                chosen = self._rng.sample(skus, self._rng.randint(1, min(3, len(skus))))
                self.place(self._rng.choice(user_ids),
                           {s: self._rng.randint(1, 4) for s in chosen})
            elif roll < 0.75:
                self.cancel(self._rng.choice(placed))
            elif roll < 0.85:
                self.ship(self._rng.choice(placed))
            else:
                sku = self._rng.choice(skus)
                self.adjust(sku, self._rng.choice([-2, -1, 3, 5]) if self.on_hand[sku] > 2 else 5)
        return self

    def changes_per_sku(self, events) -> Counter:
        """How many table changes `events` make per SKU (one per event and SKU it touches)."""
        count: Counter = Counter()
        for event_type, record in events:
            if event_type in ("ProductCreated", "StockAdjusted"):
                count[record["sku"]] += 1
            elif event_type in ("OrderPlaced", "OrderCancelled"):
                for sku in {line["sku"] for line in record["lines"]}:
                    count[sku] += 1
        return count

    def take(self) -> list[tuple[str, dict]]:
        """The events generated since the last `take`."""
        taken, self.events = self.events, []
        return taken


def publish(settings, serializer: EventSerializer, events, *, flush_timeout_s: float = 30.0):
    """Produce `(event_type, record)` pairs to their catalog topics, keyed by the key field."""
    producer = Producer(settings.kafka_conf(**{"enable.idempotence": True, "linger.ms": 5}))
    for event_type, record in events:
        spec = catalog.event_type(event_type)
        producer.produce(
            spec.topic,
            key=str(record[spec.key_field]).encode(),
            value=serializer.serialize(event_type, record),
            headers=event_headers(event_type, record),
        )
        producer.poll(0)
    remaining = producer.flush(flush_timeout_s)
    if remaining:
        raise TimeoutError(f"{remaining} events not delivered within {flush_timeout_s}s")


# -- driving worker processes (tests, benchmarks) ---------------------------------------------


class WorkerProcess:
    """One `faust -A streams.<app> worker` subprocess with its own env, port and state dir."""

    def __init__(self, app: str, settings, *, app_id: str, workdir, web_port: int,
                 env: dict | None = None):
        self.app = app
        self.app_id = app_id
        self.web_port = web_port
        self.workdir = Path(workdir)
        self.env = {
            "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "SCHEMA_REGISTRY_URL": settings.schema_registry_url,
            "STREAMS_APP_ID": app_id,
            "STREAMS_WEB_PORT": str(web_port),
            "STREAMS_DATA_DIR": str(self.workdir / "data"),
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def log(self) -> Path:
        return self.workdir / "worker.log"

    def start(self, *, timeout_s: float = 90.0) -> WorkerProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")}
        env.update(self.env)
        with open(self.log, "ab") as log:
            log.write(f"\n=== start {self.starts + 1} ===\n".encode())
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "faust", "-A", f"streams.shop.{self.app}", "worker",
                 "--loglevel", "info"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                cwd=self.workdir, start_new_session=True,
            )
        self.starts += 1
        try:
            wait_until(self.healthy, timeout_s, f"{self.app_id} web server on {self.url}",
                       log=self.log, alive=lambda: self.proc.poll() is None)
        except AssertionError:
            self.kill9()  # a worker that never became healthy must not outlive the test
            raise
        return self

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def get(self, path: str, timeout_s: float = 10.0) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=timeout_s)

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM (faust's clean shutdown), then SIGKILL if it hangs past `timeout_s`."""
        if not self.proc or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill9()


def wait_until(check, timeout_s: float, what: str, *, interval_s: float = 0.5, log=None,
               alive=None):
    """Poll `check()` until it returns a truthy value; AssertionError naming `what` on timeout."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        if alive is not None and not alive():
            break
        time.sleep(interval_s)
    tail = ""
    if log is not None:
        lines = Path(log).read_text(errors="replace").splitlines()[-25:]
        tail = "\n" + "\n".join(lines)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last: {last!r}){tail}")


def topic_size(settings, topic: str) -> int:
    """Records in `topic` so far: the sum of its partitions' high watermarks."""
    consumer = Consumer(settings.kafka_conf(**{"group.id": "streams-size-probe"}))
    try:
        parts = consumer.list_topics(topic, timeout=5).topics[topic].partitions
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1] for p in parts
        )
    finally:
        consumer.close()


def read_topic(settings, topic: str, *, timeout_s: float = 30.0) -> list:
    """Every record currently in `topic` (all partitions, up to the high watermarks)."""
    consumer = Consumer(settings.kafka_conf(**{
        "group.id": f"streams-reader-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }))
    try:
        metadata = consumer.list_topics(topic, timeout=settings.timeout_s)
        partitions = list(metadata.topics[topic].partitions)
        ends = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, p), timeout=settings.timeout_s
            )
            if high > low:
                ends[p] = high
        if not ends:
            return []
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        records, deadline = [], time.monotonic() + timeout_s
        while ends and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            records.append(msg)
            if msg.offset() + 1 >= ends.get(msg.partition(), 0):
                ends.pop(msg.partition(), None)
        if ends:
            raise TimeoutError(f"{topic}: partitions {sorted(ends)} not read within {timeout_s}s")
        return records
    finally:
        consumer.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_topics(settings, names, *, partitions: int = 3, compacted: bool = False) -> None:
    admin = AdminClient(settings.kafka_conf())
    config = {"cleanup.policy": "compact"} if compacted else {}
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=partitions, replication_factor=1, config=config)
         for n in names]
    )
    for future in futures.values():
        future.result(timeout=30)


@dataclass
class InventoryApp:
    """An inventory worker and the output topics it was given."""

    worker: WorkerProcess
    levels: str
    alerts: str
    summary: str


def inventory_app(settings, workdir, *, app_id: str | None = None, web_port: int | None = None,
                  start: bool = True, **env) -> InventoryApp:
    """An inventory worker with its own app id and fresh output topics (compacted levels)."""
    tag = uuid.uuid4().hex[:8]
    app_id = app_id or f"test-inventory-{tag}"
    levels, alerts, summary = (f"test.{tag}.levels", f"test.{tag}.alerts", f"test.{tag}.summary")
    create_topics(settings, [levels], compacted=True)
    create_topics(settings, [alerts, summary])
    worker = WorkerProcess(
        "inventory", settings, app_id=app_id, workdir=workdir, web_port=web_port or free_port(),
        env={"STREAMS_LEVELS_TOPIC": levels, "STREAMS_ALERTS_TOPIC": alerts,
             "STREAMS_SUMMARY_TOPIC": summary, **env},
    )
    if start:
        worker.start()
    return InventoryApp(worker, levels, alerts, summary)
