"""Pure fanout rules: which derived events a domain event causes (ARCHITECTURE.md flows).

Every derived event takes its id from its cause (`streams.derive`), so reprocessing a cause,
or the relay publishing it twice, yields the same ids and downstream dedupe holds.
NotificationRequested templates and params follow docs/CONTRACTS.md; params are strings.
"""

from __future__ import annotations

from streams.codec import Event, to_millis
from streams.derive import derived_from

# Events whose notification needs the user's email and name (looked up by user_id).
NEEDS_USER = ("UserRegistered", "OrderPlaced", "OrderShipped")


def search_and_cache(event: Event, producer: str) -> list[tuple[str, dict]]:
    record = event.record
    out: list[tuple[str, dict]] = []

    def add(event_type: str, aggregate_id: str, **payload) -> None:
        out.append(
            (event_type, derived_from(event, event_type, producer=producer,
                                      aggregate_id=aggregate_id, **payload))
        )

    if event.type == "ProductCreated":
        doc = f"product:{record['sku']}"
        add("SearchDocumentUpserted", doc, document_id=doc, kind="product",
            title=record["name"], body=f"{record['name']} {record['sku']}")
        add("CacheInvalidated", record["sku"], keys=[doc])
    elif event.type in ("ProductPriceChanged", "StockAdjusted"):
        add("CacheInvalidated", record["sku"], keys=[f"product:{record['sku']}"])
    elif event.type == "OrderPlaced":
        doc = f"order:{record['order_id']}"
        skus = _skus(record)
        add("SearchDocumentUpserted", doc, document_id=doc, kind="order",
            title=f"Order {record['order_id']}", body=" ".join(skus))
        add("CacheInvalidated", record["order_id"], keys=[doc] + [f"product:{s}" for s in skus])
    elif event.type == "OrderShipped":
        add("CacheInvalidated", record["order_id"], keys=[f"order:{record['order_id']}"])
    elif event.type == "OrderCancelled":
        doc = f"order:{record['order_id']}"
        add("SearchDocumentDeleted", doc, document_id=doc)
        add("CacheInvalidated", record["order_id"],
            keys=[doc] + [f"product:{s}" for s in _skus(record)])
    return out


def user_notification(event: Event, user: dict, producer: str) -> dict | None:
    """The email a user gets for `event`, given the user's `{"email", "name"}`."""
    record = event.record
    if event.type == "UserRegistered":
        template, params = "welcome", {"name": user["name"]}
    elif event.type == "OrderPlaced":
        template = "order_confirmation"
        params = {"name": user["name"], "order_id": record["order_id"],
                  "total_cents": str(record["total_cents"])}
    elif event.type == "OrderShipped":
        template = "order_shipped"
        params = {"name": user["name"], "order_id": record["order_id"],
                  "carrier": record["carrier"], "tracking_number": record["tracking_number"]}
    else:
        return None
    return derived_from(
        event, "NotificationRequested", producer=producer, aggregate_id=record["user_id"],
        user_id=record["user_id"], recipient=user["email"], template=template, params=params,
    )


OPS_USER_ID = "ops"


def low_stock_notification(event: Event, ops_email: str, producer: str) -> dict:
    record = event.record
    return derived_from(
        event, "NotificationRequested", producer=producer, aggregate_id=OPS_USER_ID,
        user_id=OPS_USER_ID, recipient=ops_email, template="low_stock",
        params={"sku": record["sku"], "on_hand": str(record["on_hand"]),
                "threshold": str(record["threshold"])},
    )


def to_json(event: Event) -> dict:
    """A JSON-safe copy (for a table) of a decoded event; `from_json` reverses it."""
    return {"type": event.type, "record": {**event.record,
                                           "occurred_at": to_millis(event.record["occurred_at"])}}


def from_json(data: dict) -> Event:
    return Event(data["type"], dict(data["record"]))


def _skus(record: dict) -> list[str]:
    return sorted({line["sku"] for line in record["lines"]})
