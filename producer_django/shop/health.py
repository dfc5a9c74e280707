"""GET /health/ of the shop: the events app's health report, described in the API schema."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from producer_django.events.views import health_response

REPORT = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded", "down"]},
        "database": {"type": "string"},
        "reasons": {
            "type": "array", "items": {"type": "string"},
            "description": "Why the status is not ok, one sentence each.",
        },
        "outbox": {
            "type": "object",
            "properties": {
                "backlog": {"type": "integer"},
                "oldest_pending_age_s": {"type": "number", "nullable": True},
                "failing": {"type": "integer"},
                "last_error": {"type": "string"},
            },
        },
        "relay": {
            "type": "object",
            "description": "Present when a relay heartbeat file is configured.",
            "properties": {
                "heartbeat_age_s": {"type": "number", "nullable": True},
                "max_age_s": {"type": "number"},
            },
        },
    },
    "required": ["status", "database", "reasons"],
}


class Health(APIView):
    # Monitors and `pipeline up` call it without a token.
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "strict", str, enum=["1", "0"],
                description="1: answer 503 when degraded too (for status-code-only monitors).",
            )
        ],
        responses={
            200: OpenApiResponse(
                REPORT, description="Serving; `status` is ok, or degraded with `reasons`."
            ),
            503: OpenApiResponse(
                REPORT, description="The database is unreachable (or degraded, with strict=1)."
            ),
        },
        summary="Health of the web app, the outbox and the relay",
    )
    def get(self, request):
        return health_response(request)
