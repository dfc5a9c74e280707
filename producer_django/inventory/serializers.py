from rest_framework import serializers


class AdjustSerializer(serializers.Serializer):
    delta = serializers.IntegerField(min_value=-(2**31), max_value=2**31 - 1)
    reason = serializers.CharField(max_length=200)

    def validate_delta(self, value):
        if value == 0:
            raise serializers.ValidationError("delta must not be 0")
        return value
