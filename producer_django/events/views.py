"""A health endpoint any project can mount: `path("health/", events.views.health)`."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from producer_django.events.health import health as outbox_health


@require_GET
def health(request):
    reachable, report = outbox_health()
    return JsonResponse(report, status=200 if reachable else 503)
