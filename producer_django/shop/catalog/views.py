from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from producer_django.shop.cache import cached, product_key
from producer_django.shop.catalog import services
from producer_django.shop.catalog.models import SKU_PATTERN, Product, is_sku
from producer_django.shop.catalog.serializers import (
    PriceChangeSerializer,
    ProductCreateSerializer,
    ProductSerializer,
)
from producer_django.shop.openapi import api_errors

SKU = OpenApiParameter(
    "sku", str, OpenApiParameter.PATH, pattern=SKU_PATTERN,
    description="The product's SKU; text that cannot be a SKU is a 404.",
)


def known_sku(sku: str) -> str:
    """`sku` when it can name a product; the API's 404 otherwise, before any cache or query."""
    if not is_sku(sku):
        raise NotFound(f"no product {sku!r}")
    return sku


class ProductList(APIView):
    @extend_schema(
        request=ProductCreateSerializer,
        responses={201: ProductSerializer, **api_errors(ProductCreateSerializer, conflict=True)},
        summary="Create a product with its initial stock; publishes ProductCreated",
    )
    def post(self, request):
        body = ProductCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.create_product(**body.validated_data)
        return Response(services.product_view(body.validated_data["sku"]),
                        status=status.HTTP_201_CREATED)


class ProductDetail(APIView):
    @extend_schema(
        parameters=[SKU],
        responses={200: ProductSerializer, **api_errors(not_found=True)},
        summary="Read a product and its stock",
    )
    def get(self, request, sku):
        sku = known_sku(sku)
        data = cached(product_key(sku), lambda: services.product_view(sku))
        if data is None:
            raise NotFound(f"no product {sku!r}")
        return Response(data)

    @extend_schema(
        parameters=[SKU],
        request=PriceChangeSerializer,
        responses={200: ProductSerializer, **api_errors(PriceChangeSerializer, not_found=True)},
        summary="Change a product's price; publishes ProductPriceChanged",
    )
    def patch(self, request, sku):
        sku = known_sku(sku)
        body = PriceChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.change_price(sku, body.validated_data["price_cents"])
        except Product.DoesNotExist:
            raise NotFound(f"no product {sku!r}") from None
        return Response(services.product_view(sku))
