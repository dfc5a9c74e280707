from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from producer_django.shop.catalog.views import SKU, known_sku
from producer_django.shop.inventory import services
from producer_django.shop.inventory.models import StockLevel
from producer_django.shop.inventory.serializers import AdjustSerializer, StockLevelSerializer
from producer_django.shop.openapi import api_errors


class AdjustStock(APIView):
    @extend_schema(
        parameters=[SKU],
        request=AdjustSerializer,
        responses={
            200: StockLevelSerializer,
            **api_errors(AdjustSerializer, not_found=True, conflict=True),
        },
        summary="Adjust stock by a delta (never below 0 nor above the cap); publishes "
        "StockAdjusted",
    )
    def post(self, request, sku):
        sku = known_sku(sku)
        body = AdjustSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            level = services.adjust(sku, **body.validated_data)
        except StockLevel.DoesNotExist:
            raise NotFound(f"no product {sku!r}") from None
        return Response({"sku": sku, "on_hand": level.on_hand})
