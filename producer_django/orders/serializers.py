from rest_framework import serializers

from producer_django.accounts.models import Customer
from producer_django.catalog.models import Product


class LineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class PlaceOrderSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()
    lines = LineSerializer(many=True, allow_empty=False, max_length=100)

    def validate_user_id(self, value):
        customer = Customer.objects.filter(id=value).first()
        if customer is None:
            raise serializers.ValidationError(f"no user {value}")
        return customer

    def validate_lines(self, lines):
        skus = {line["sku"] for line in lines}
        known = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
        unknown = sorted(skus - known)
        if unknown:
            raise serializers.ValidationError(f"unknown sku: {', '.join(unknown)}")
        return lines


class ShipSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=100)
    tracking_number = serializers.CharField(max_length=100)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, default="cancelled by customer")
