import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from producer_django.shop.cache import cached, order_key
from producer_django.shop.openapi import api_errors
from producer_django.shop.orders import services
from producer_django.shop.orders.models import Order
from producer_django.shop.orders.serializers import (
    CancelSerializer,
    OrderSerializer,
    PlaceOrderSerializer,
    ShipSerializer,
)

ORDER_ID = OpenApiParameter(
    "order_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
    description="The order's UUID; any other text is a 404.",
)


def order_uuid(raw: str) -> uuid.UUID:
    """The order id of a URL; any other text is the API's JSON 404, like an unknown order."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound(f"no order {raw!r}: an order id is a UUID") from None


class OrderList(APIView):
    @extend_schema(
        request=PlaceOrderSerializer,
        responses={201: OrderSerializer, **api_errors(PlaceOrderSerializer, conflict=True)},
        summary="Place an order (stock is reserved under a row lock); publishes OrderPlaced",
    )
    def post(self, request):
        body = PlaceOrderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = services.place_order(body.validated_data["user_id"], body.validated_data["lines"])
        return Response(services.order_view(order.id), status=status.HTTP_201_CREATED)


class OrderDetail(APIView):
    @extend_schema(
        parameters=[ORDER_ID],
        responses={200: OrderSerializer, **api_errors(not_found=True)},
        summary="Read an order",
    )
    def get(self, request, order_id):
        order_id = order_uuid(order_id)
        data = cached(order_key(order_id), lambda: services.order_view(order_id))
        if data is None:
            raise NotFound(f"no order {order_id}")
        return Response(data)


class ShipOrder(APIView):
    @extend_schema(
        parameters=[ORDER_ID],
        request=ShipSerializer,
        responses={
            200: OrderSerializer, **api_errors(ShipSerializer, not_found=True, conflict=True),
        },
        summary="Ship a placed order; publishes OrderShipped",
    )
    def post(self, request, order_id):
        order_id = order_uuid(order_id)
        body = ShipSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.ship(order_id, **body.validated_data)
        except Order.DoesNotExist:
            raise NotFound(f"no order {order_id}") from None
        return Response(services.order_view(order_id))


class CancelOrder(APIView):
    @extend_schema(
        parameters=[ORDER_ID],
        request=CancelSerializer,
        responses={
            200: OrderSerializer, **api_errors(CancelSerializer, not_found=True, conflict=True),
        },
        summary="Cancel a placed order (stock is given back); publishes OrderCancelled",
    )
    def post(self, request, order_id):
        order_id = order_uuid(order_id)
        body = CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.cancel(order_id, body.validated_data["reason"])
        except Order.DoesNotExist:
            raise NotFound(f"no order {order_id}") from None
        return Response(services.order_view(order_id))
