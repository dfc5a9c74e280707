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

from streams.dedupe import already_applied, copy_applied, remember_in_place
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

    def to_json(self) -> dict:
        return dict(self.__dict__)

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


@dataclass(frozen=True)
class BatchOutcome:
    """A SKU's state after a batch of its changes, and what to publish: the newest level, then
    every LowStockDetected (in order). `applied` counts the changes that were not duplicates."""

    state: dict
    applied: int
    level: dict | None
    alerts: list[dict]


def apply(state: dict | None, change: Change, *, threshold: int, producer: str) -> Outcome:
    """The new state and the events to publish; `applied` is False for a duplicate."""
    outcome = apply_batch(state, [change], threshold=threshold, producer=producer)
    return Outcome(outcome.state, outcome.applied == 1, outcome.level,
                   outcome.alerts[-1] if outcome.alerts else None)


def apply_batch(
    state: dict | None, changes: list[Change], *, threshold: int, producer: str
) -> BatchOutcome:
    """Apply one SKU's changes in order, each once: one state to write, one level to publish.

    The level is the one the last applied change derives (the same record, id and all, as when
    the changes are applied one at a time; levels of the changes before it are superseded in
    the compacted levels topic anyway). A batch with a duplicate re-publishes: the newest level,
    and the last alert while the SKU is still low (what a crash may have lost).
    """
    state = state if state is not None else new_state(changes[0].sku)
    new = dict(state)
    new["applied"] = copy_applied(state["applied"])
    recent = list(state["recent"])
    seen = set(recent)
    alerts: list[dict] = []
    applied = duplicates = 0
    last: Change | None = None
    for change in changes:
        if (already_applied(new["applied"], change.source, change.offset)
                or change.dedupe_key in seen):
            duplicates += 1
            continue
        applied += 1
        last = change
        remember_in_place(new["applied"], change.source, change.offset)
        recent.append(change.dedupe_key)
        seen.add(change.dedupe_key)
        new["on_hand"] += change.delta
        new["known"] = new["known"] or change.cause_type == "ProductCreated"
        new["version"] += 1
        # Once per crossing: alert when the level falls below the threshold, re-arm when back.
        low = new["known"] and new["on_hand"] < threshold
        if low and not new["low"]:
            new["alert"] = derived(
                "LowStockDetected", **_meta(change, new["version"], producer),
                sku=change.sku, on_hand=new["on_hand"], threshold=threshold,
            )
            alerts.append(new["alert"])
        new["low"] = low
    if last is not None:
        new["recent"] = recent[-RECENT_IDS:]
        new["last_event_id"] = last.event_id
        new["level"] = derived(
            "InventoryLevel", **_meta(last, new["version"], producer),
            sku=last.sku, on_hand=new["on_hand"],
        )
    if duplicates and new["low"] and not alerts and new["alert"] is not None:
        alerts.append(new["alert"])
    return BatchOutcome(new if applied else state, applied, new["level"], alerts)


def _meta(change: Change, version: int, producer: str) -> dict:
    return {
        "cause_id": change.event_id,
        "correlation_id": change.correlation_id,
        "occurred_at_ms": change.occurred_at_ms,
        "aggregate_id": change.sku,
        "aggregate_version": version,
        "producer": producer,
        "n": change.n,
    }


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
