"""Topics: catalog vs cluster, partitions and offsets, the message browser and export."""

from __future__ import annotations

import json

from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render

from deploy.console import browse, runtime
from deploy.console.cluster import Cluster
from deploy.console.views.common import clauses
from deploy.topics import describe_configs, plan, project_catalog
from schemas.errors import PipelineError


def topics(request):
    conn = runtime.connections()
    specs = project_catalog()
    rows, problem = [], None
    try:
        plans = {p.name: p for p in plan(conn.settings, specs)}
        with Cluster(conn.settings) as cluster:
            present = cluster.topics()
            for spec in specs:
                parts = present.get(spec.name, [])
                marks = cluster.watermarks(spec.name, parts) if parts else {}
                rows.append({
                    "spec": spec, "plan": plans.get(spec.name), "partitions": len(parts),
                    "records": sum(high - low for low, high in marks.values()),
                    "end": sum(high for _low, high in marks.values()),
                })
    except PipelineError as exc:
        problem = str(exc)
    return render(request, "console/topics.html", {"rows": rows, "problem": problem})


def _query(request, name: str) -> browse.Query:
    params = request.GET
    partition = params.get("partition", "").strip()
    try:
        limit = int(params.get("limit") or 50)
    except ValueError:
        limit = 50
    return browse.Query(
        topic=name,
        partition=int(partition) if partition.isdigit() else None,
        start=params.get("from", "").strip() or None,
        end=params.get("to", "").strip() or None,
        where=clauses(params.get("where", "")),
        limit=limit,
    )


def topic(request, name: str):
    conn = runtime.connections()
    spec = next((s for s in project_catalog() if s.name == name), None)
    context = {"name": name, "spec": spec, "query": _query(request, name), "problem": None}
    try:
        with Cluster(conn.settings) as cluster:
            present = cluster.topics()
            if name not in present:
                raise Http404(f"topic {name} does not exist on the cluster")
            context["partitions"] = sorted(cluster.watermarks(name, present[name]).items())
            have = describe_configs(cluster.admin, [name]).get(name, {})
        wanted = spec.configs() if spec else {}
        context["configs"] = [
            {"key": k, "catalog": wanted.get(k), "cluster": have.get(k),
             "differs": k in wanted and wanted[k] != have.get(k)}
            for k in sorted(set(wanted) | {"cleanup.policy", "retention.ms"})
        ]
        if "browse" in request.GET:
            page = browse.browse(conn.settings, context["query"])
            context["page"] = page
            context["rows"] = [
                {"r": r, "value": json.dumps(r.value, default=str, indent=1)}
                for r in page.records
            ]
    except PipelineError as exc:
        context["problem"] = str(exc)
    return render(request, "console/topic.html", context)


def topic_export(request, name: str):
    fmt = request.GET.get("format", "jsonl")
    if fmt not in browse.EXPORT_FORMATS:
        fmt = "jsonl"
    conn = runtime.connections()
    query = _query(request, name)
    try:
        chunks = browse.export(conn.settings, query, fmt)
        first = next(chunks, b"")
    except PipelineError as exc:
        return render(request, "console/error.html", {"problem": str(exc)}, status=400)

    def stream():
        yield first
        yield from chunks

    response = StreamingHttpResponse(
        stream(), content_type="text/csv" if fmt == "csv" else "application/x-ndjson"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
