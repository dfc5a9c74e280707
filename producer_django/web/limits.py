"""A JSON 413 for a request body over `settings.REQUEST_BODY_MAX_BYTES`, before any view runs,
and a JSON 411 for a body sent without a Content-Length.

DRF's parsers read the body as a stream, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE (which only
guards `request.body` and form data), so without this an API accepts a body of any size. The
declared Content-Length is what counts: Django reads no more than it, and nothing of a body
sent without one (chunked), which would otherwise reach the view as an empty body.

A refused body is read and dropped first (up to `DRAIN_FACTOR` times the limit), so the
client, still sending, gets the answer instead of a reset connection; beyond that the server
answers and closes.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse

DRAIN_FACTOR = 4
CHUNK = 64 * 1024


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = getattr(settings, "REQUEST_BODY_MAX_BYTES", None)
        if limit is None:
            return self.get_response(request)
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            drained = _drain(request.META["wsgi.input"], DRAIN_FACTOR * limit)
            return _refuse(411, "request body has no Content-Length; send it with one "
                                f"(at most {limit} bytes)", limit, drained)
        length = declared_length(request)
        if length > limit:
            drained = _drain(request, DRAIN_FACTOR * limit) if length <= DRAIN_FACTOR * limit \
                else False
            return _refuse(413, f"request body of {length} bytes is over this server's limit "
                                f"of {limit} bytes; send a smaller body", limit, drained)
        return self.get_response(request)


def declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _drain(stream, most: int) -> bool:
    """Read and drop the body; False when more than `most` bytes were still coming."""
    read = 0
    while read <= most:
        chunk = stream.read(CHUNK)
        if not chunk:
            return True
        read += len(chunk)
    return False


def _refuse(status: int, detail: str, limit: int, drained: bool) -> JsonResponse:
    response = JsonResponse({"detail": detail, "limit_bytes": limit}, status=status)
    if not drained:
        response["Connection"] = "close"
    return response
