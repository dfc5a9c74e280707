from django.http import Http404
from rest_framework.response import Response
from rest_framework.views import APIView

from producer_django.inventory import services
from producer_django.inventory.models import StockLevel
from producer_django.inventory.serializers import AdjustSerializer


class AdjustStock(APIView):
    def post(self, request, sku):
        body = AdjustSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            level = services.adjust(sku, **body.validated_data)
        except StockLevel.DoesNotExist:
            raise Http404(f"no product {sku!r}") from None
        return Response({"sku": sku, "on_hand": level.on_hand})
