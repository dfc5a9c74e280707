"""Order state changes; each writes its event in the same transaction."""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from rest_framework.exceptions import ValidationError

from producer_django.events.publish import publish
from producer_django.shop.accounts.models import Customer
from producer_django.shop.cache import forget_on_commit, order_key
from producer_django.shop.catalog.models import MAX_TOTAL_CENTS, Product
from producer_django.shop.errors import Conflict
from producer_django.shop.inventory import services as inventory
from producer_django.shop.orders.models import Order, OrderLine


def place_order(customer: Customer, lines: list[dict]) -> Order:
    wanted = Counter()
    for line in lines:
        wanted[line["sku"]] += line["quantity"]
    with transaction.atomic():
        levels = inventory.lock_levels(wanted)
        prices = dict(Product.objects.filter(sku__in=wanted).values_list("sku", "price_cents"))
        total = sum(prices[sku] * qty for sku, qty in wanted.items())
        if total > MAX_TOTAL_CENTS:
            raise ValidationError(
                {"lines": [f"the order total {total} cents passes the maximum {MAX_TOTAL_CENTS}"]}
            )
        inventory.take(levels, wanted)
        order = Order.objects.create(customer=customer, total_cents=total)
        OrderLine.objects.bulk_create(
            OrderLine(order=order, product_id=sku, quantity=qty, unit_price_cents=prices[sku])
            for sku, qty in sorted(wanted.items())
        )
        publish(
            "OrderPlaced",
            {
                "order_id": str(order.id),
                "user_id": str(customer.id),
                "lines": _event_lines(order),
                "total_cents": total,
            },
        )
        forget_on_commit(order_key(order.id))
    return order


def ship(order_id, carrier: str, tracking_number: str) -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(id=order_id)
        if order.status != Order.PLACED:
            raise Conflict(f"order {order.id} is {order.status}; only placed orders can ship")
        order.status, order.carrier, order.tracking_number = Order.SHIPPED, carrier, tracking_number
        order.save(update_fields=["status", "carrier", "tracking_number"])
        publish(
            "OrderShipped",
            {
                "order_id": str(order.id),
                "user_id": str(order.customer_id),
                "carrier": carrier,
                "tracking_number": tracking_number,
            },
        )
        forget_on_commit(order_key(order.id))
    return order


def cancel(order_id, reason: str) -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(id=order_id)
        if order.status != Order.PLACED:
            raise Conflict(
                f"order {order.id} is {order.status}; only placed orders can be cancelled"
            )
        returned = dict(order.lines.values_list("product_id", "quantity"))
        inventory.give_back(inventory.lock_levels(returned), returned)
        order.status, order.cancel_reason = Order.CANCELLED, reason
        order.save(update_fields=["status", "cancel_reason"])
        publish(
            "OrderCancelled",
            {
                "order_id": str(order.id),
                "user_id": str(order.customer_id),
                "reason": reason,
                "lines": _event_lines(order),
            },
        )
        forget_on_commit(order_key(order.id))
    return order


def order_view(order_id) -> dict | None:
    """The JSON body of GET /api/orders/<id>/, or None."""
    order = Order.objects.filter(id=order_id).first()
    if order is None:
        return None
    return {
        "order_id": str(order.id),
        "user_id": str(order.customer_id),
        "status": order.status,
        "total_cents": order.total_cents,
        "lines": _event_lines(order),
        "carrier": order.carrier or None,
        "tracking_number": order.tracking_number or None,
    }


def _event_lines(order: Order) -> list[dict]:
    return [
        {"sku": sku, "quantity": qty, "unit_price_cents": price}
        for sku, qty, price in order.lines.order_by("product_id").values_list(
            "product_id", "quantity", "unit_price_cents"
        )
    ]
