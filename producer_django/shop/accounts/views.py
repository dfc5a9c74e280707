from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from producer_django.shop.accounts import services
from producer_django.shop.accounts.serializers import CustomerSerializer
from producer_django.shop.openapi import api_errors


class UserList(APIView):
    @extend_schema(
        request=CustomerSerializer,
        responses={201: CustomerSerializer, **api_errors(CustomerSerializer, conflict=True)},
        summary="Register a customer (e-mail compared case-insensitively); publishes "
        "UserRegistered",
    )
    def post(self, request):
        body = CustomerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        customer = services.register(**body.validated_data)
        return Response(CustomerSerializer(customer).data, status=status.HTTP_201_CREATED)
