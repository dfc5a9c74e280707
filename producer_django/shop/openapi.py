"""The shop API's error shapes, written once for its OpenAPI description (GET /api/schema/).

Every error body is JSON:
- 400: field errors, `{"<field>": ["message", ...], ...}`, one key per rejected request field
  (nested fields such as `lines` carry their own errors per item); `non_field_errors` when the
  body as a whole is wrong (not an object); `{"detail": "..."}` when the body is not JSON.
- 401 (no or bad token), 404 (unknown path or object), 409 (the state forbids it):
  `{"detail": "..."}`.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.settings import api_settings

STRING_LIST = {"type": "array", "items": {"type": "string"}}
DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
    "additionalProperties": False,
}


def field_errors_schema(serializer_class: type[serializers.Serializer]) -> dict:
    """The 400 body for `serializer_class`: its writable fields as optional keys."""
    properties = {}
    for name, field in serializer_class().fields.items():
        if field.read_only:
            continue
        nested = isinstance(field, serializers.BaseSerializer | serializers.ListField)
        # A nested field's errors are per item (a list of objects) or about the whole value.
        properties[name] = {"description": f"errors of `{name}`"} if nested else STRING_LIST
    properties[api_settings.NON_FIELD_ERRORS_KEY] = STRING_LIST
    field_errors = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "minProperties": 1,
    }
    return {"oneOf": [field_errors, DETAIL]}


def api_errors(
    request_serializer: type[serializers.Serializer] | None = None,
    *,
    authenticated: bool = True,
    not_found: bool = False,
    conflict: bool = False,
) -> dict[int, OpenApiResponse]:
    """The error responses of one operation, for `extend_schema(responses={...})`."""
    responses = {}
    if request_serializer is not None:
        responses[400] = OpenApiResponse(
            field_errors_schema(request_serializer),
            description="Invalid request: each key names a rejected field (`non_field_errors`: "
            "the body is not an object; `detail`: the body is not JSON). Nothing is written.",
        )
    if authenticated:
        responses[401] = OpenApiResponse(
            DETAIL, description="No token or an unknown one (`Authorization: Token <key>`)."
        )
    if not_found:
        responses[404] = OpenApiResponse(DETAIL, description="No such object. Nothing is written.")
    if conflict:
        responses[409] = OpenApiResponse(
            DETAIL,
            description="Valid, but the current state forbids it (stock, order status, an "
            "existing key). Nothing is written.",
        )
    return responses
