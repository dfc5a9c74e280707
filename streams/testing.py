"""A synthetic shop workload for driving the stream apps (tests, benchmarks, demos).

`Workload` generates well-formed catalog events the way the shop would (orders only when the
stock allows, as the Django API answers 409 otherwise) and keeps its own independent
recomputation of every SKU's on-hand level and units sold. `publish` writes the events with
the shared EventSerializer and headers through a plain confluent-kafka producer.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from confluent_kafka import Producer

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

    # -- single events ----------------------------------------------------------------------

    def event(self, event_type: str, aggregate_id: str, at: datetime | None = None, **payload):
        self._versions[aggregate_id] += 1
        record = {
            "event_id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            "occurred_at": at or datetime.now(UTC),
            "aggregate_id": aggregate_id,
            "aggregate_version": self._versions[aggregate_id],
            "correlation_id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
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
        user_ids = [self.user(n) for n in range(users)]
        skus = [self.product(n, self._rng.randint(5, 40)) for n in range(products)]
        for _ in range(steps):
            roll = self._rng.random()
            placed = [o for o, v in self.orders.items() if v["state"] == "placed"]
            if roll < 0.6 or not placed:
                chosen = self._rng.sample(skus, self._rng.randint(1, 3))
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
