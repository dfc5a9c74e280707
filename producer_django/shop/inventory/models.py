from django.db import models

# On-hand stock travels as an Avro int (StockAdjusted.delta, InventoryLevel.on_hand): product
# creation, adjustments and cancellations all keep it at or below this.
MAX_ON_HAND = 2**31 - 1


class StockLevel(models.Model):
    product = models.OneToOneField(
        "catalog.Product", primary_key=True, on_delete=models.CASCADE, related_name="stock",
        db_column="sku",
    )
    on_hand = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.product_id}: {self.on_hand}"
