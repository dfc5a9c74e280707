"""The shop's background tasks (discovered as the `tasks.py` of an installed app).

`sales_report` runs as a periodic task (see the shop's `[tool.event-pipeline.schedule]`): the
orders of the last `hours`, counted and summed, returned as the task's result (the admin's
task results page shows it). `stale_orders` lists orders placed but not shipped for longer than
`hours`, the kind of check a Celery beat entry would run.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from producer_django.shop.orders.models import Order
from producer_django.tasks import task


@task
def sales_report(hours: int = 24) -> dict:
    since = timezone.now() - timedelta(hours=hours)
    orders = Order.objects.filter(created_at__gte=since)
    totals = orders.aggregate(orders=Count("id"), revenue_cents=Sum("total_cents"))
    by_status = dict(orders.values_list("status").annotate(n=Count("id")))
    return {"since": since.isoformat(), "orders": totals["orders"],
            "revenue_cents": totals["revenue_cents"] or 0, "by_status": by_status}


@task
def stale_orders(hours: int = 48) -> list[str]:
    cutoff = timezone.now() - timedelta(hours=hours)
    placed = Order.objects.filter(status=Order.PLACED, created_at__lt=cutoff)
    return [str(pk) for pk in placed.values_list("id", flat=True)[:1000]]
