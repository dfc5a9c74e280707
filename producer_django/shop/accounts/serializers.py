from rest_framework import serializers

from producer_django.shop.accounts.models import Customer


class NormalizedEmailField(serializers.EmailField):
    """E-mail addresses compare case-insensitively: `A@EX.com` is `a@ex.com`'s account."""

    def to_internal_value(self, data):
        return super().to_internal_value(data).lower()


class CustomerSerializer(serializers.ModelSerializer):
    user_id = serializers.UUIDField(source="id", read_only=True)
    # Declared, so DRF adds no racy uniqueness pre-read: the database decides (409).
    email = NormalizedEmailField(max_length=254)

    class Meta:
        model = Customer
        fields = ["user_id", "email", "name"]
