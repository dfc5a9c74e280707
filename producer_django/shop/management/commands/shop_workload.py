"""`manage.py shop_workload`: a bounded stream of real domain writes (reliability, benchmarks).

Creates `--skus` products named `<prefix>-<n>` (with --setup), then performs `--events` stock
adjustments spread over them, each in its own transaction with its StockAdjusted event.
`--hold-ms` keeps each transaction open a random while after its event is written, so that
concurrent writers commit out of outbox-id order. `--no-outbox` does the same domain write
without the event (the benchmark's baseline); `--event-only` writes only the event, each in its
own transaction (a relay latency run: the load the relay sees, with the least work per write).
"""

from __future__ import annotations

import json
import random
import time

from django.core.management.base import BaseCommand
from django.db import IntegrityError, transaction

from producer_django.events.publish import publish
from producer_django.shop.catalog import services as catalog
from producer_django.shop.inventory import services as inventory
from producer_django.shop.inventory.models import StockLevel


class Command(BaseCommand):
    help = "Perform a bounded number of stock adjustments (each publishing StockAdjusted)."

    def add_arguments(self, parser):
        parser.add_argument("--prefix", required=True)
        parser.add_argument("--skus", type=int, default=50)
        parser.add_argument("--events", type=int, default=1000)
        parser.add_argument("--setup", action="store_true", help="create the products first")
        parser.add_argument("--rate", type=float, default=0.0, help="events per second (0: max)")
        parser.add_argument("--hold-ms", type=float, default=0.0)
        parser.add_argument("--no-outbox", action="store_true")
        parser.add_argument("--event-only", action="store_true")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--start-at", type=float, default=None,
                            help="wall-clock time (epoch seconds) to start at, so that "
                                 "several writers run their rates at the same time")

    def handle(self, *args, **o):
        rng = random.Random(o["seed"])
        skus = [f"{o['prefix']}-{n}" for n in range(o["skus"])]
        if o["setup"]:
            for sku in skus:
                try:
                    catalog.create_product(sku, f"Item {sku}", 100, 1_000_000)
                except IntegrityError:
                    pass
        write = _write_only if o["no_outbox"] else _event_only if o["event_only"] else _adjust
        if o["start_at"] is not None:
            time.sleep(max(0.0, o["start_at"] - time.time()))
        started = time.perf_counter()
        for n in range(o["events"]):
            if o["rate"]:
                # Steady pacing against the schedule, not sleep-after-each (no drift).
                delay = started + n / o["rate"] - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            write(rng.choice(skus), o["hold_ms"] / 1000 * rng.random())
        elapsed = time.perf_counter() - started
        self.stdout.write(json.dumps({"events": o["events"], "seconds": elapsed}))


def _adjust(sku: str, hold_s: float) -> None:
    with transaction.atomic():
        inventory.adjust(sku, 1, "workload")
        if hold_s:
            time.sleep(hold_s)


def _event_only(sku: str, hold_s: float) -> None:
    with transaction.atomic():
        publish("StockAdjusted", {"sku": sku, "delta": 1, "reason": "workload"})
        if hold_s:
            time.sleep(hold_s)


def _write_only(sku: str, hold_s: float) -> None:
    with transaction.atomic():
        level = StockLevel.objects.select_for_update().get(product_id=sku)
        level.on_hand += 1
        level.save(update_fields=["on_hand"])
        if hold_s:
            time.sleep(hold_s)
