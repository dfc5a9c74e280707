from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from producer_django.accounts import services
from producer_django.accounts.serializers import CustomerSerializer


class UserList(APIView):
    def post(self, request):
        body = CustomerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        customer = services.register(**body.validated_data)
        return Response(CustomerSerializer(customer).data, status=status.HTTP_201_CREATED)
