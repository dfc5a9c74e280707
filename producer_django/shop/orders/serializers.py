from rest_framework import serializers

from producer_django.shop.accounts.models import Customer
from producer_django.shop.catalog.models import SKU_PATTERN, Product
from producer_django.shop.orders.models import Order

MAX_LINE_QUANTITY = 10_000


class LineSerializer(serializers.Serializer):
    sku = serializers.RegexField(SKU_PATTERN, max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


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


class OrderLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price_cents = serializers.IntegerField()


class OrderSerializer(serializers.Serializer):
    """The body of GET /api/orders/<id>/ and of the order endpoints (orders.services.order_view)."""

    order_id = serializers.UUIDField()
    user_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Order.STATUSES)
    total_cents = serializers.IntegerField()
    lines = OrderLineSerializer(many=True)
    carrier = serializers.CharField(allow_null=True)
    tracking_number = serializers.CharField(allow_null=True)
