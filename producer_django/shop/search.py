"""GET /api/search/?q= over the `search_index` table the search-indexer worker maintains.

The table's shape is fixed by docs/CONTRACTS.md: FTS5 on SQLite, a tsvector column on
PostgreSQL. Until the worker has created it, the answer is an empty list.
"""

from __future__ import annotations

import re

from django.db import connection
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from producer_django.shop.openapi import api_errors

TABLE = "search_index"
LIMIT = 20
_WORD = re.compile(r"\w+", re.UNICODE)

_SQL = {
    # Each word quoted, so user input is never parsed as FTS5 query syntax.
    "sqlite": f"SELECT document_id, kind, title FROM {TABLE} WHERE {TABLE} MATCH %s "
    f"ORDER BY rank LIMIT {LIMIT}",
    "postgresql": f"SELECT document_id, kind, title FROM {TABLE} "
    "WHERE tsv @@ plainto_tsquery('simple', %s) "
    f"ORDER BY ts_rank(tsv, plainto_tsquery('simple', %s)) DESC, document_id LIMIT {LIMIT}",
}


def search(q: str) -> list[dict]:
    words = _WORD.findall(q)
    if not words or TABLE not in connection.introspection.table_names():
        return []
    if connection.vendor == "sqlite":
        params = [" ".join(f'"{w}"' for w in words)]
    else:
        params = [" ".join(words)] * 2
    with connection.cursor() as cursor:
        cursor.execute(_SQL[connection.vendor], params)
        rows = cursor.fetchall()
    return [{"document_id": r[0], "kind": r[1], "title": r[2]} for r in rows]


class SearchHit(serializers.Serializer):
    document_id = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()


class Search(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Words to find (any text).")],
        responses={
            200: inline_serializer("SearchResults", {"results": SearchHit(many=True)}),
            **api_errors(),
        },
        summary=f"Full-text search over the search index (at most {LIMIT} hits)",
    )
    def get(self, request):
        return Response({"results": search(request.query_params.get("q", ""))})
