"""HTTP errors of the shop API beyond DRF's own (400 validation, 401, 404)."""

from rest_framework import status
from rest_framework.exceptions import APIException


class Conflict(APIException):
    """409: the request is valid but the current state forbids it (stock, order status)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"
