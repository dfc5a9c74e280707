from rest_framework import serializers

from producer_django.accounts.models import Customer


class CustomerSerializer(serializers.ModelSerializer):
    user_id = serializers.UUIDField(source="id", read_only=True)

    class Meta:
        model = Customer
        fields = ["user_id", "email", "name"]
