"""Lineage: search by event, aggregate or correlation id; the trace as a tree."""

from __future__ import annotations

import importlib.util

from django.shortcuts import render

from deploy.console import runtime
from schemas.errors import PipelineError

RECENT = 50


def _query_module():
    if importlib.util.find_spec("consumers.lineage") is None:
        return None
    if importlib.util.find_spec("consumers.lineage.query") is None:
        return None
    return importlib.import_module("consumers.lineage.query")


def lineage(request):
    ident = request.GET.get("q", "").strip()
    context = {"q": ident, "problem": None, "nodes": None, "recent": None}
    query = _query_module()
    if query is None:
        context["problem"] = ("The lineage indexer is not installed in this version "
                              "(consumers.lineage); traces are not available.")
        return render(request, "console/lineage.html", context)
    database_url = runtime.connections().database_url
    try:
        if ident:
            context["nodes"] = [n.to_dict() for n in query.trace(database_url, ident)]
        else:
            context["recent"] = [_as_dict(r) for r in query.recent(database_url, RECENT)]
    except PipelineError as exc:
        context["problem"] = str(exc)
    return render(request, "console/lineage.html", context)


def _as_dict(row) -> dict:
    if isinstance(row, dict):
        return row
    to_dict = getattr(row, "to_dict", None)
    return to_dict() if to_dict else dict(vars(row))
