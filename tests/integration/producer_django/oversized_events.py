"""Child process of test_relay_oversized: writes the outbox of the scenario, prints JSON.

    python oversized_events.py publish CORRELATION   # the refused publish + the rows to relay
    python oversized_events.py report                # what the relay left behind
"""

import json
import secrets
import sys

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from producer_django.events.models import OutboxDeadLetter, OutboxEvent  # noqa: E402
from producer_django.events.publish import publish  # noqa: E402
from schemas import outbox  # noqa: E402


def stock(sku: str, reason: str = "test") -> dict:
    return {"sku": sku, "delta": 1, "reason": reason}


def scenario(correlation: str, prefix: str) -> dict:
    call_command("migrate", verbosity=0)
    refused = None
    try:
        with transaction.atomic():
            publish("StockAdjusted", stock(f"{prefix}-a", "x" * 1_100_000),
                    correlation_id=correlation)
    except outbox.EventTooLarge as exc:
        refused = str(exc)
    rows_after_refusal = OutboxEvent.objects.count()
    with transaction.atomic():
        # Written before the limit was lowered: a row over the catalog's limit ...
        big = publish("StockAdjusted", stock(f"{prefix}-a"), correlation_id=correlation)
        OutboxEvent.objects.filter(id=big.id).update(
            payload={**big.payload, "reason": "y" * 1_100_000})
        # ... and one within it that the broker refuses (the test lowers the topic's limit),
        # incompressible so lz4 cannot shrink it under.
        publish("StockAdjusted", stock(f"{prefix}-b", secrets.token_hex(20_000)),
                correlation_id=correlation)
        # Rows behind them, of the same aggregates and of others.
        for sku in (f"{prefix}-a", f"{prefix}-b", f"{prefix}-c", f"{prefix}-d"):
            publish("StockAdjusted", stock(sku), correlation_id=correlation)
    return {"refused": refused, "rows_after_refusal": rows_after_refusal,
            "big_id": big.id}


def report() -> dict:
    return {
        "pending": OutboxEvent.objects.filter(published_at__isnull=True).count(),
        "published": OutboxEvent.objects.filter(published_at__isnull=False).count(),
        "dead": [
            {"outbox_id": d.outbox_id, "aggregate_id": d.aggregate_id, "topic": d.topic,
             "event_id": str(d.event_id), "reason": d.reason, "size": len(d.payload["reason"])}
            for d in OutboxDeadLetter.objects.order_by("outbox_id")
        ],
    }


if __name__ == "__main__":
    if sys.argv[1] == "publish":
        print(json.dumps(scenario(sys.argv[2], sys.argv[3])))
    else:
        print(json.dumps(report()))
