from django.db import models


class StockLevel(models.Model):
    product = models.OneToOneField(
        "catalog.Product", primary_key=True, on_delete=models.CASCADE, related_name="stock",
        db_column="sku",
    )
    on_hand = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.product_id}: {self.on_hand}"
