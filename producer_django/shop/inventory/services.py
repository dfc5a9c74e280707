"""Stock changes. Rows are locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE
transactions serialize writers) before they are checked, so two orders cannot both take the
last item."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from producer_django.events.publish import publish
from producer_django.shop.cache import forget_on_commit, product_key
from producer_django.shop.errors import Conflict
from producer_django.shop.inventory.models import MAX_ON_HAND, StockLevel


def lock_levels(skus) -> dict[str, StockLevel]:
    # A fixed lock order (by sku) keeps concurrent multi-line orders from deadlocking.
    rows = (
        StockLevel.objects.select_for_update()
        .filter(product_id__in=set(skus))
        .order_by("product_id")
    )
    return {row.product_id: row for row in rows}


def take(levels: Mapping[str, StockLevel], wanted: Mapping[str, int]) -> None:
    """Decrement stock for an order, or raise Conflict naming every short sku."""
    short = [
        f"{sku}: {qty} wanted, {levels[sku].on_hand} on hand"
        for sku, qty in sorted(wanted.items())
        if levels[sku].on_hand < qty
    ]
    if short:
        raise Conflict("not enough stock: " + "; ".join(short))
    for sku, qty in wanted.items():
        _change(levels[sku], -qty)


def give_back(levels: Mapping[str, StockLevel], returned: Mapping[str, int]) -> None:
    """Increment stock for a cancelled order, or raise Conflict naming every sku at its cap."""
    full = [
        f"{sku}: {levels[sku].on_hand} on hand + {qty} returned"
        for sku, qty in sorted(returned.items())
        if levels[sku].on_hand + qty > MAX_ON_HAND
    ]
    if full:
        raise Conflict(f"stock would pass the maximum of {MAX_ON_HAND}: " + "; ".join(full))
    for sku, qty in returned.items():
        _change(levels[sku], qty)


def adjust(sku: str, delta: int, reason: str) -> StockLevel:
    """Manual adjustment (`StockAdjusted`); raises StockLevel.DoesNotExist or Conflict."""
    with transaction.atomic():
        level = StockLevel.objects.select_for_update().get(product_id=sku)
        if level.on_hand + delta < 0:
            raise Conflict(
                f"not enough stock: {sku} has {level.on_hand} on hand, cannot remove {-delta}"
            )
        if level.on_hand + delta > MAX_ON_HAND:
            raise Conflict(
                f"stock would pass the maximum of {MAX_ON_HAND} (the cap product creation "
                f"enforces): {sku} has {level.on_hand} on hand, cannot add delta {delta}"
            )
        _change(level, delta)
        publish("StockAdjusted", {"sku": sku, "delta": delta, "reason": reason})
    return level


def _change(level: StockLevel, delta: int) -> None:
    level.on_hand += delta
    level.save(update_fields=["on_hand"])
    forget_on_commit(product_key(level.product_id))
