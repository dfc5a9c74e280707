"""The shop's side of the stream harness: a synthetic shop workload and an inventory worker.

`Workload` generates well-formed catalog events the way the shop would (orders only when the
stock allows, as the Django API answers 409 otherwise) and keeps its own independent
recomputation of every SKU's on-hand level and units sold; `streams.testing.publish` writes
them. `inventory_app` starts the inventory app with fresh output topics.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from schemas.ids import new_event_id
from streams.testing import WorkerProcess, create_topics, free_port


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
            "event_id": new_event_id(),
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
