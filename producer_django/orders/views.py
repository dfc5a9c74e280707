from django.http import Http404
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from producer_django.orders import services
from producer_django.orders.models import Order
from producer_django.orders.serializers import (
    CancelSerializer,
    PlaceOrderSerializer,
    ShipSerializer,
)
from producer_django.shop.cache import cached, order_key


class OrderList(APIView):
    def post(self, request):
        body = PlaceOrderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = services.place_order(body.validated_data["user_id"], body.validated_data["lines"])
        return Response(services.order_view(order.id), status=status.HTTP_201_CREATED)


class OrderDetail(APIView):
    def get(self, request, order_id):
        data = cached(order_key(order_id), lambda: services.order_view(order_id))
        if data is None:
            raise Http404(f"no order {order_id}")
        return Response(data)


class ShipOrder(APIView):
    def post(self, request, order_id):
        body = ShipSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.ship(order_id, **body.validated_data)
        except Order.DoesNotExist:
            raise Http404(f"no order {order_id}") from None
        return Response(services.order_view(order_id))


class CancelOrder(APIView):
    def post(self, request, order_id):
        body = CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.cancel(order_id, body.validated_data["reason"])
        except Order.DoesNotExist:
            raise Http404(f"no order {order_id}") from None
        return Response(services.order_view(order_id))
