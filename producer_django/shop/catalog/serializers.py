from rest_framework import serializers

from producer_django.shop.catalog.models import MAX_PRICE_CENTS, SKU_PATTERN, Product
from producer_django.shop.inventory.models import MAX_ON_HAND


class ProductCreateSerializer(serializers.ModelSerializer):
    stock = serializers.IntegerField(min_value=0, max_value=MAX_ON_HAND)
    price_cents = serializers.IntegerField(min_value=0, max_value=MAX_PRICE_CENTS)
    sku = serializers.RegexField(SKU_PATTERN, max_length=64)

    class Meta:
        model = Product
        fields = ["sku", "name", "price_cents", "stock"]
        # Uniqueness is checked by the database in the write (409), not by a racy pre-read.
        validators = []


class PriceChangeSerializer(serializers.Serializer):
    price_cents = serializers.IntegerField(min_value=0, max_value=MAX_PRICE_CENTS)


class ProductSerializer(serializers.Serializer):
    """The body of GET /api/products/<sku>/ (catalog.services.product_view)."""

    sku = serializers.CharField()
    name = serializers.CharField()
    price_cents = serializers.IntegerField()
    stock = serializers.IntegerField()
