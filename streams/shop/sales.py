"""Pure sales-window logic: units sold per SKU in event-time minute buckets.

Both windows are answered from one changelog-backed state per SKU: the tumbling 1-minute
window is a bucket, the hopping 1-hour window (advancing every HOP_STEP_MS) is the sum of its
60 buckets. Keeping buckets rather than faust's windowed tables lets one table write carry both
the counts and the dedupe watermark, so counts stay exact under at-least-once delivery.
Buckets older than RETAIN_MS behind the newest event of the SKU are dropped.
"""

from __future__ import annotations

from streams.dedupe import already_applied, remember

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
    state = state if state is not None else new_state(sku)
    if already_applied(state["applied"], source, offset) or key in state["recent"]:
        return None
    latest = max(state["latest"], at_ms)
    minutes = dict(state["minutes"])
    if at_ms >= latest - RETAIN_MS:
        bucket = str(at_ms - at_ms % MINUTE_MS)
        minutes[bucket] = minutes.get(bucket, 0) + units
    horizon = latest - RETAIN_MS
    minutes = {b: u for b, u in minutes.items() if int(b) + MINUTE_MS > horizon}
    return {
        "sku": sku,
        "applied": remember(state["applied"], source, offset),
        "recent": (state["recent"] + [key])[-RECENT_IDS:],
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
