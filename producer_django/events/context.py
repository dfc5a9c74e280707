"""The correlation id and W3C trace context of the current request, for `publish` to stamp."""

from __future__ import annotations

import contextvars
import re
import secrets
import uuid

_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "events_correlation_id", default=None
)
_trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "events_trace_id", default=None
)

CORRELATION_HEADER = "X-Correlation-ID"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def correlation_id() -> str | None:
    return _correlation.get()


def trace_id(correlation: str) -> str:
    """The current trace id; it falls back to the correlation id (a fresh one if that is no
    UUID)."""
    trace = _trace_id.get()
    if trace is None:
        try:
            trace = uuid.UUID(correlation).hex
        except ValueError:
            trace = secrets.token_hex(16)
    return trace


def traceparent(correlation: str) -> str:
    """A fresh span in the current trace."""
    return f"00-{trace_id(correlation)}-{secrets.token_hex(8)}-01"


class CorrelationMiddleware:
    """Reads X-Correlation-ID and traceparent from the request (or starts new ones)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(CORRELATION_HEADER, "").strip()[:100]
        corr = given or str(uuid.uuid4())
        match = _TRACEPARENT.match(request.headers.get("traceparent", "").strip())
        tokens = (_correlation.set(corr), _trace_id.set(match.group(1) if match else None))
        try:
            response = self.get_response(request)
        finally:
            _trace_id.reset(tokens[1])
            _correlation.reset(tokens[0])
        response[CORRELATION_HEADER] = corr
        return response
