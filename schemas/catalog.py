"""The event catalog: which event goes to which topic, keyed by which field.

The `.avsc` files in `schemas/avro/` are the source of truth for the fields; this module only
adds routing. Every record carries the same metadata fields (METADATA_FIELDS).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

AVRO_DIR = Path(__file__).parent / "avro"
NAMESPACE = "shop.events"

METADATA_FIELDS = (
    "event_id",
    "occurred_at",
    "aggregate_id",
    "aggregate_version",
    "correlation_id",
    "causation_id",
    "producer",
)

# Kafka headers that repeat metadata so routers never decode to route.
HEADER_EVENT_TYPE = "event_type"
HEADER_EVENT_ID = "event_id"
HEADER_CORRELATION_ID = "correlation_id"
HEADER_TRACEPARENT = "traceparent"


@dataclass(frozen=True)
class EventType:
    name: str
    topic: str
    key_field: str

    @property
    def full_name(self) -> str:
        return f"{NAMESPACE}.{self.name}"

    @property
    def subject(self) -> str:
        """Registry subject under the TopicRecordNameStrategy (see SUBJECTS.md)."""
        return f"{self.topic}-{self.full_name}"

    @property
    def schema_path(self) -> Path:
        return AVRO_DIR / f"{self.name}.avsc"

    def schema_str(self) -> str:
        return _read_schema(self.schema_path)

    def schema_dict(self) -> dict:
        return json.loads(self.schema_str())


_ROUTES = [
    ("UserRegistered", "shop.users", "user_id"),
    ("ProductCreated", "shop.products", "sku"),
    ("ProductPriceChanged", "shop.products", "sku"),
    ("OrderPlaced", "shop.orders", "order_id"),
    ("OrderShipped", "shop.orders", "order_id"),
    ("OrderCancelled", "shop.orders", "order_id"),
    ("StockAdjusted", "shop.inventory", "sku"),
    ("InventoryLevel", "shop.inventory.levels", "sku"),
    ("NotificationRequested", "shop.notifications", "user_id"),
    ("SearchDocumentUpserted", "shop.search", "document_id"),
    ("SearchDocumentDeleted", "shop.search", "document_id"),
    ("CacheInvalidated", "shop.cache", "aggregate_id"),
    ("LowStockDetected", "shop.alerts", "sku"),
    ("SalesSummaryHourly", "shop.sales.summary", "aggregate_id"),
]

EVENT_TYPES: dict[str, EventType] = {name: EventType(name, t, k) for name, t, k in _ROUTES}


def event_type(name: str) -> EventType:
    try:
        return EVENT_TYPES[name]
    except KeyError:
        known = ", ".join(sorted(EVENT_TYPES))
        raise KeyError(f"unknown event type {name!r}; known types: {known}") from None


def topics() -> list[str]:
    return sorted({e.topic for e in EVENT_TYPES.values()})


def events_on(topic: str) -> list[EventType]:
    return [e for e in EVENT_TYPES.values() if e.topic == topic]


@cache
def _read_schema(path: Path) -> str:
    # Compact JSON: the exact string we register is the one serializers look up, and
    # registries compare it verbatim.
    return json.dumps(json.loads(path.read_text()), separators=(",", ":"))
