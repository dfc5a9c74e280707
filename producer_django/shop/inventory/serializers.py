from rest_framework import serializers

from producer_django.shop.inventory.models import MAX_ON_HAND


class AdjustSerializer(serializers.Serializer):
    delta = serializers.IntegerField(min_value=-MAX_ON_HAND, max_value=MAX_ON_HAND)
    reason = serializers.CharField(max_length=200)

    def validate_delta(self, value):
        if value == 0:
            raise serializers.ValidationError("delta must not be 0")
        return value


class StockLevelSerializer(serializers.Serializer):
    """The body of POST /api/inventory/<sku>/adjust/."""

    sku = serializers.CharField()
    on_hand = serializers.IntegerField()
