"""Run in a subprocess by test_shop_atomicity: an order request that fails after its writes.

`publish` is wrapped so the outbox row is written and then the request raises, still inside
the order's transaction. Prints the counts the test compares, as JSON.
"""

import json
import sys

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from producer_django.events.models import OutboxEvent  # noqa: E402
from producer_django.shop.inventory.models import StockLevel  # noqa: E402
from producer_django.shop.orders import services  # noqa: E402
from producer_django.shop.orders.models import Order  # noqa: E402

user_id, sku, correlation = sys.argv[1:4]
real_publish = services.publish


def publish_then_fail(*args, **kwargs):
    real_publish(*args, **kwargs)
    raise RuntimeError("forced failure after the domain write and the outbox write")


def counts():
    return {
        "orders": Order.objects.count(),
        "outbox": OutboxEvent.objects.count(),
        "stock": StockLevel.objects.get(product_id=sku).on_hand,
    }


before = counts()
services.publish = publish_then_fail
client = APIClient(raise_request_exception=False)
client.force_authenticate(get_user_model().objects.get(username="dev"))
response = client.post(
    "/api/orders/", {"user_id": user_id, "lines": [{"sku": sku, "quantity": 1}]}, format="json",
    headers={"X-Correlation-ID": correlation},
)
print(json.dumps({"status": response.status_code, "before": before, "after": counts()}))
