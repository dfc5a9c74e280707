"""HTTP errors of the shop API beyond DRF's own (400 validation, 401, 404), and JSON pages for
the paths DRF never sees: an unknown URL under /api/ is the API's 404, not Django's HTML page."""

from django.http import JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import APIException

API_PREFIX = "/api/"


class Conflict(APIException):
    """409: the request is valid but the current state forbids it (stock, order status)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def not_found(request, exception=None):
    """handler404: JSON under /api/, Django's page elsewhere (the admin)."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": f"no API endpoint {request.path!r}"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: JSON under /api/ (the traceback is in the server log), Django's page
    elsewhere."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "internal error; see the server log"}, status=500)
    return defaults.server_error(request)
