"""The overview: components, throughput, lag, outbox backlog, dead letters, stream recovery."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render

from deploy.console import charts, monitor, runtime

CHART_MINUTES = 15


def _context() -> dict:
    view = runtime.overview()
    since = view.at_ms - CHART_MINUTES * 60_000
    rates = monitor.topic_rates(since)
    busy = {t: s for t, s in rates.items() if any(v for _, v in s)}
    return {
        "view": view,
        "rate_chart": charts.line_chart(busy or rates, unit="events/s",
                                        title=f"events/s per topic, last {CHART_MINUTES} min"),
        "group_charts": {
            group: charts.line_chart(monitor.lag_series(group, since), unit="records",
                                     title=f"lag of {group} per partition")
            for group in view.groups
        },
    }


def overview(request):
    return render(request, "console/overview.html", _context())


def overview_live(request):
    """The part of the overview the page's poll swaps in."""
    return render(request, "console/overview_live.html", _context())


def api_overview(request):
    view = runtime.overview()
    return JsonResponse({
        "at_ms": view.at_ms,
        "components": view.components,
        "groups": {
            g: {"state": s.state, "lag": s.lag, "members": len(s.members),
                "partitions": [{"topic": p.topic, "partition": p.partition,
                                "committed": p.committed, "end": p.end, "lag": p.lag}
                               for p in s.partitions]}
            for g, s in view.groups.items()
        },
        "outbox": None if view.backlog is None else {
            "pending": view.backlog.pending, "oldest_age_s": view.backlog.oldest_age_s,
            "problem": view.backlog.problem},
        "dead_letters": {d.group: {"total": d.total, "pending": d.pending, "topic": d.topic}
                         for d in view.dead_letters},
        "streams": view.streams,
        "problems": view.problems,
    })
