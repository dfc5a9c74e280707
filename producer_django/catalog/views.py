from django.http import Http404
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from producer_django.catalog import services
from producer_django.catalog.models import Product
from producer_django.catalog.serializers import PriceChangeSerializer, ProductCreateSerializer
from producer_django.shop.cache import cached, product_key


class ProductList(APIView):
    def post(self, request):
        body = ProductCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.create_product(**body.validated_data)
        return Response(services.product_view(body.validated_data["sku"]),
                        status=status.HTTP_201_CREATED)


class ProductDetail(APIView):
    def get(self, request, sku):
        data = cached(product_key(sku), lambda: services.product_view(sku))
        if data is None:
            raise Http404(f"no product {sku!r}")
        return Response(data)

    def patch(self, request, sku):
        body = PriceChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.change_price(sku, body.validated_data["price_cents"])
        except Product.DoesNotExist:
            raise Http404(f"no product {sku!r}") from None
        return Response(services.product_view(sku))
