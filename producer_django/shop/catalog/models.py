import re

from django.db import models

# What a SKU may be: it is a URL path segment, a Kafka key and a cache key.
SKU_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
_SKU = re.compile(SKU_PATTERN)
# Prices and totals travel as Avro longs.
MAX_PRICE_CENTS = 2**62
MAX_TOTAL_CENTS = 2**63 - 1


def is_sku(value: str) -> bool:
    return bool(_SKU.fullmatch(value))


class Product(models.Model):
    sku = models.CharField(primary_key=True, max_length=64)
    name = models.CharField(max_length=200)
    price_cents = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"
