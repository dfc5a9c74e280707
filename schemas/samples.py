"""Well-formed example events for every catalog type (demo, tests, benchmarks)."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime

from schemas import catalog

_PAYLOADS = {
    "UserRegistered": {"user_id": "u-1", "email": "ada@example.com", "name": "Ada Lovelace"},
    "ProductCreated": {"sku": "SKU-1", "name": "Teapot", "price_cents": 2500, "stock": 10},
    "ProductPriceChanged": {"sku": "SKU-1", "old_price_cents": 2500, "new_price_cents": 2300},
    "OrderPlaced": {
        "order_id": "o-1",
        "user_id": "u-1",
        "lines": [{"sku": "SKU-1", "quantity": 2, "unit_price_cents": 2500}],
        "total_cents": 5000,
    },
    "OrderShipped": {
        "order_id": "o-1",
        "user_id": "u-1",
        "carrier": "DHL",
        "tracking_number": "T1",
    },
    "OrderCancelled": {
        "order_id": "o-1",
        "user_id": "u-1",
        "reason": "changed mind",
        "lines": [{"sku": "SKU-1", "quantity": 2, "unit_price_cents": 2500}],
    },
    "StockAdjusted": {"sku": "SKU-1", "delta": -1, "reason": "breakage"},
    "InventoryLevel": {"sku": "SKU-1", "on_hand": 8},
    "NotificationRequested": {
        "user_id": "u-1",
        "recipient": "ada@example.com",
        "template": "welcome",
        "params": {"name": "Ada Lovelace"},
    },
    "SearchDocumentUpserted": {
        "document_id": "product:SKU-1",
        "kind": "product",
        "title": "Teapot",
        "body": "A teapot",
    },
    "SearchDocumentDeleted": {"document_id": "product:SKU-1"},
    "CacheInvalidated": {"keys": ["product:SKU-1"]},
    "LowStockDetected": {"sku": "SKU-1", "on_hand": 2, "threshold": 5},
}


def _now_ms() -> datetime:
    # Avro timestamp-millis keeps milliseconds; a sample must survive a round trip unchanged.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def sample_event(event_type: str, **overrides) -> dict:
    """A valid event of `event_type`; metadata filled, aggregate_id from the key field."""
    spec = catalog.event_type(event_type)
    # Deep copy: callers may mutate nested lines and maps of their sample.
    payload = copy.deepcopy(_PAYLOADS.get(event_type) or _synthesise(spec.schema_dict()))
    payload.update({k: v for k, v in overrides.items() if k in payload})
    event = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": _now_ms(),
        "aggregate_id": str(payload.get(spec.key_field, "agg-1")),
        "aggregate_version": 1,
        "correlation_id": str(uuid.uuid4()),
        "causation_id": None,
        "producer": "samples",
        **payload,
    }
    event.update({k: v for k, v in overrides.items() if k not in payload})
    return event


def _synthesise(schema: dict) -> dict:
    """Payload of plausible values for an event type without a hand-written example."""
    return {
        f["name"]: _value(f["name"], f["type"])
        for f in schema["fields"]
        if f["name"] not in catalog.METADATA_FIELDS
    }


def _value(name: str, avro_type):
    if isinstance(avro_type, list):
        return _value(name, next((t for t in avro_type if t != "null"), "null"))
    if isinstance(avro_type, dict):
        kind = avro_type["type"]
        if kind == "record":
            return {f["name"]: _value(f["name"], f["type"]) for f in avro_type["fields"]}
        if kind == "array":
            return [_value(name, avro_type["items"])]
        if kind == "map":
            return {"key": _value(name, avro_type["values"])}
        if kind == "enum":
            return avro_type["symbols"][0]
        if avro_type.get("logicalType", "").startswith("timestamp"):
            return _now_ms()
        return _value(name, kind)
    return {
        "null": None,
        "boolean": True,
        "int": 1,
        "long": 1,
        "float": 1.0,
        "double": 1.0,
        "bytes": b"x",
        "string": f"{name}-1",
    }[avro_type]
