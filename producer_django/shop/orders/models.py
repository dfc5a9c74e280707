import uuid

from django.db import models


class Order(models.Model):
    PLACED, SHIPPED, CANCELLED = "placed", "shipped", "cancelled"
    STATUSES = [(PLACED, "placed"), (SHIPPED, "shipped"), (CANCELLED, "cancelled")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(max_length=16, choices=STATUSES, default=PLACED)
    total_cents = models.PositiveBigIntegerField()
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"order {self.id} ({self.status})"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, db_column="sku")
    quantity = models.PositiveIntegerField()
    unit_price_cents = models.PositiveBigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="orders_one_line_per_sku")
        ]
