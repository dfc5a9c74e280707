"""Prometheus metrics of the console, served at `/metrics` (open like `/healthz`: a scraper has
no session). Requests by view and status, sampler passes, and changing actions by outcome."""

from __future__ import annotations

import time

from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry()
REQUESTS = Counter("pipeline_console_requests", "Console requests answered",
                   ["view", "status"], registry=REGISTRY)
REQUEST_SECONDS = Histogram("pipeline_console_request_seconds", "Time to answer a request",
                            ["view"], registry=REGISTRY)
SAMPLE_SECONDS = Histogram("pipeline_console_sample_seconds",
                           "One sampler pass (offsets, lag, outbox, dead letters)",
                           registry=REGISTRY)
SAMPLE_FAILURES = Counter("pipeline_console_sample_failures", "Sampler passes that failed",
                          registry=REGISTRY)
ACTIONS = Counter("pipeline_console_actions", "Changing actions (redrive, offsets reset)",
                  ["action", "outcome"], registry=REGISTRY)


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.url_name if match and match.url_name else "unmatched"
        REQUESTS.labels(view, str(response.status_code)).inc()
        REQUEST_SECONDS.labels(view).observe(time.monotonic() - started)
        return response


def metrics_view(request) -> HttpResponse:
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
