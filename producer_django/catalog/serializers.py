from rest_framework import serializers

from producer_django.catalog.models import Product


class ProductCreateSerializer(serializers.ModelSerializer):
    stock = serializers.IntegerField(min_value=0, max_value=2**31 - 1)
    price_cents = serializers.IntegerField(min_value=0, max_value=2**62)
    sku = serializers.RegexField(r"^[A-Za-z0-9._:-]{1,64}$", max_length=64)

    class Meta:
        model = Product
        fields = ["sku", "name", "price_cents", "stock"]
        # Uniqueness is checked by the database in the write (409), not by a racy pre-read.
        validators = []


class PriceChangeSerializer(serializers.Serializer):
    price_cents = serializers.IntegerField(min_value=0, max_value=2**62)
