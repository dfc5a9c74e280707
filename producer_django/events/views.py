"""A health endpoint any project can mount: `path("health/", events.views.health)`.

200 while the web server can serve requests, "ok" or "degraded" in the body: a lagging relay
must not take web servers out of a load balancer, since requests still commit (their events wait
in the outbox). 503 when the database is unreachable. `?strict=1` answers 503 for "degraded"
too, for monitors that read only the status code.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from producer_django.events.health import health as outbox_health

STRICT_VALUES = ("1", "true", "yes")


def health_response(request) -> JsonResponse:
    reachable, report = outbox_health()
    strict = request.GET.get("strict", "").lower() in STRICT_VALUES
    healthy = reachable and not (strict and report["status"] != "ok")
    return JsonResponse(report, status=200 if healthy else 503)


@require_GET
def health(request):
    return health_response(request)
