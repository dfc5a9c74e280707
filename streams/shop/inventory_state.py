"""Pure inventory logic: apply one stock change to a SKU's state exactly once.

Processing is at-least-once (faust may hand us a change again after a crash or rebalance, and
the relay may publish an event twice), so each state remembers what it already applied:

- `applied`: per source partition (`topic:partition`), the source offsets applied
  (`streams.dedupe`). A change re-read from the same log position is a duplicate, even when
  faust delivers positions out of order after a rebalance. Bounded per source partition.
  `aggregate_version` cannot play this role: one SKU is changed by several aggregates (the
  product and every order) whose events arrive through different topics in no fixed order.
- `recent`: the last RECENT_IDS applied `event_id:n` keys, which catches an event the relay
  published twice at two offsets (such duplicates sit close together in the log).

The state also keeps the last InventoryLevel and LowStockDetected it produced, so a worker that
meets a duplicate re-publishes them unchanged (same ids): whatever a crash lost between the
table's changelog and the output topics is healed, and downstream dedupe still holds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from streams.dedupe import already_applied, remember
from streams.derive import derived

RECENT_IDS = 512


@dataclass(frozen=True)
class Change:
    """One SKU's share of a source event (an order line, a stock adjustment, a new product)."""

    sku: str
    delta: int
    sold: int
    cause_type: str
    event_id: str
    correlation_id: str
    occurred_at_ms: int
    n: int
    source: str
    offset: int

    @property
    def dedupe_key(self) -> str:
        return f"{self.event_id}:{self.n}"

    @classmethod
    def from_json(cls, value) -> Change:
        """A change read back from the internal topic; TypeError naming what is wrong."""
        if not isinstance(value, dict):
            raise TypeError(f"a stock change is a JSON object, not {type(value).__name__}")
        change = cls(**value)  # TypeError naming a missing or unexpected field
        for spec in fields(cls):
            kind = _FIELD_TYPES[spec.type]
            got = getattr(change, spec.name)
            if not isinstance(got, kind) or isinstance(got, bool):
                raise TypeError(
                    f"stock change field {spec.name!r} must be {kind.__name__}, "
                    f"not {type(got).__name__}"
                )
        return change


# Field annotations are strings (postponed evaluation); what each one means at runtime.
_FIELD_TYPES = {"str": str, "int": int}


@dataclass(frozen=True)
class Outcome:
    state: dict
    applied: bool
    level: dict | None
    alert: dict | None


def new_state(sku: str) -> dict:
    return {
        "sku": sku, "on_hand": 0, "known": False, "low": False, "version": 0,
        "applied": {}, "recent": [], "last_event_id": None, "level": None, "alert": None,
    }


def is_duplicate(state: dict, change: Change) -> bool:
    if already_applied(state["applied"], change.source, change.offset):
        return True
    return change.dedupe_key in state["recent"]


def apply(state: dict | None, change: Change, *, threshold: int, producer: str) -> Outcome:
    """The new state and the events to publish; `applied` is False for a duplicate."""
    state = state if state is not None else new_state(change.sku)
    if is_duplicate(state, change):
        return Outcome(state, False, state["level"], state["alert"] if state["low"] else None)
    new = dict(state)
    new["applied"] = remember(state["applied"], change.source, change.offset)
    new["recent"] = (state["recent"] + [change.dedupe_key])[-RECENT_IDS:]
    new["on_hand"] = state["on_hand"] + change.delta
    new["known"] = state["known"] or change.cause_type == "ProductCreated"
    new["version"] = state["version"] + 1
    new["last_event_id"] = change.event_id
    meta = {
        "cause_id": change.event_id,
        "correlation_id": change.correlation_id,
        "occurred_at_ms": change.occurred_at_ms,
        "aggregate_id": change.sku,
        "aggregate_version": new["version"],
        "producer": producer,
        "n": change.n,
    }
    level = derived("InventoryLevel", **meta, sku=change.sku, on_hand=new["on_hand"])
    new["level"] = level
    # Once per crossing: alert when the level falls below the threshold, re-arm when it is back.
    low = new["known"] and new["on_hand"] < threshold
    alert = None
    if low and not state["low"]:
        alert = derived(
            "LowStockDetected", **meta, sku=change.sku, on_hand=new["on_hand"], threshold=threshold
        )
        new["alert"] = alert
    new["low"] = low
    return Outcome(new, True, level, alert)


def changes_from(event, source: str, offset: int) -> list[Change]:
    """Split a decoded source event into per-SKU changes (unrelated event types give none).

    Order lines for the same SKU are summed, so `n` (the index among the event's SKUs, sorted)
    is stable and derived ids are deterministic.
    """
    record = event.record
    if event.type == "ProductCreated":
        deltas = {record["sku"]: (int(record["stock"]), 0)}
    elif event.type == "StockAdjusted":
        deltas = {record["sku"]: (int(record["delta"]), 0)}
    elif event.type in ("OrderPlaced", "OrderCancelled"):
        quantities: dict[str, int] = {}
        for line in record["lines"]:
            quantities[line["sku"]] = quantities.get(line["sku"], 0) + int(line["quantity"])
        placed = event.type == "OrderPlaced"
        deltas = {sku: (-q if placed else q, q if placed else 0) for sku, q in quantities.items()}
    else:
        return []
    return [
        Change(
            sku=sku, delta=delta, sold=sold, cause_type=event.type,
            event_id=record["event_id"], correlation_id=record["correlation_id"],
            occurred_at_ms=event.occurred_at_ms(), n=n, source=source, offset=offset,
        )
        for n, (sku, (delta, sold)) in enumerate(sorted(deltas.items()))
    ]


def public_view(state: dict) -> dict:
    """What `GET /inventory/<sku>` answers."""
    return {
        "sku": state["sku"],
        "on_hand": state["on_hand"],
        "low_stock": state["low"],
        "version": state["version"],
        "last_event_id": state["last_event_id"],
    }
