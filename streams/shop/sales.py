"""Pure sales-window logic: units sold per SKU in event-time minute buckets.

Both windows are answered from one changelog-backed state per SKU: the tumbling 1-minute
window is a bucket, the hopping 1-hour window (advancing every HOP_STEP_MS) is the sum of its
60 buckets. Keeping buckets rather than faust's windowed tables lets one table write carry both
the counts and the dedupe watermark, so counts stay exact under at-least-once delivery.
Buckets older than RETAIN_MS behind the newest event of the SKU are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.dedupe import already_applied, copy_applied, remember_in_place

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
HOP_STEP_MS = 5 * MINUTE_MS
RETAIN_MS = 3 * HOUR_MS
RECENT_IDS = 512


def new_state(sku: str) -> dict:
    return {"sku": sku, "applied": {}, "recent": [], "minutes": {}, "latest": 0}


def apply(
    state: dict | None, *, sku: str, units: int, at_ms: int, source: str, offset: int, key: str
):
    """The new state, or None when this change was already counted (same dedupe rules as
    `streams.shop.inventory_state`: source offset watermark, then recent event keys)."""
    return apply_batch(state, sku, [Sale(units, at_ms, source, offset, key)])


@dataclass(frozen=True)
class Sale:
    units: int
    at_ms: int
    source: str
    offset: int
    key: str


def apply_batch(state: dict | None, sku: str, sales: list[Sale]):
    """The state after counting each of `sales` once (in order), or None when every one of
    them was already counted."""
    state = state if state is not None else new_state(sku)
    applied = copy_applied(state["applied"])
    recent = list(state["recent"])
    seen = set(recent)
    latest = state["latest"]
    minutes = dict(state["minutes"])
    counted = 0
    for sale in sales:
        if already_applied(applied, sale.source, sale.offset) or sale.key in seen:
            continue
        counted += 1
        latest = max(latest, sale.at_ms)
        if sale.at_ms >= latest - RETAIN_MS:
            bucket = str(sale.at_ms - sale.at_ms % MINUTE_MS)
            minutes[bucket] = minutes.get(bucket, 0) + sale.units
        remember_in_place(applied, sale.source, sale.offset)
        recent.append(sale.key)
        seen.add(sale.key)
    if not counted:
        return None
    horizon = latest - RETAIN_MS
    minutes = {b: u for b, u in minutes.items() if int(b) + MINUTE_MS > horizon}
    return {
        "sku": sku,
        "applied": applied,
        "recent": recent[-RECENT_IDS:],
        "minutes": minutes,
        "latest": latest,
    }


def units_between(state: dict, start_ms: int, end_ms: int) -> int:
    return sum(u for b, u in state["minutes"].items() if start_ms <= int(b) < end_ms)


def tumbling_minutes(state: dict) -> list[dict]:
    return [
        {"start": int(b), "end": int(b) + MINUTE_MS, "units": u}
        for b, u in sorted(state["minutes"].items(), key=lambda item: int(item[0]))
    ]


def hopping_hours(state: dict) -> list[dict]:
    """Every 1-hour window (step HOP_STEP_MS) that holds at least one retained bucket."""
    if not state["minutes"]:
        return []
    buckets = sorted(int(b) for b in state["minutes"])
    first = buckets[0] - buckets[0] % HOP_STEP_MS - HOUR_MS + HOP_STEP_MS
    windows = []
    for start in range(first, buckets[-1] + 1, HOP_STEP_MS):
        units = units_between(state, start, start + HOUR_MS)
        if units:
            windows.append({"start": start, "end": start + HOUR_MS, "units": units})
    return windows


def view(state: dict) -> dict:
    return {
        "sku": state["sku"],
        "tumbling_1m": tumbling_minutes(state),
        "hopping_1h": hopping_hours(state),
    }
