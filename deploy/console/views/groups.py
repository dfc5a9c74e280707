"""Consumer groups: members, assignment, lag; the offsets reset (plan first, then confirm)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from consumers.replay.offsets import apply_reset, plan_reset
from consumers.replay.ranges import parse_bound
from deploy.console import charts, monitor, runtime
from deploy.console.access import is_operator, operator_required
from deploy.console.cluster import Cluster, watched_groups
from deploy.console.views.common import audit
from schemas.errors import PipelineError


def groups(request):
    view = runtime.overview()
    return render(request, "console/groups.html", {"view": view, "watched": watched_groups()})


def group(request, name: str):
    conn = runtime.connections()
    context = {"name": name, "problem": None}
    try:
        with Cluster(conn.settings) as cluster:
            context["state"] = cluster.group(name)
    except PipelineError as exc:
        context["problem"] = str(exc)
    since = runtime.now_ms() - 15 * 60_000
    context["chart"] = charts.line_chart(monitor.lag_series(name, since), unit="records",
                                         title=f"lag of {name} per partition")
    return render(request, "console/group.html", context)


def _reset_request(data) -> tuple[str, list[str]]:
    target = (data.get("to") or "").strip()
    topics = [t.strip() for t in (data.get("topics") or "").split(",") if t.strip()]
    return target, topics


def reset_plan(request, name: str):
    """The dry run: what `pipeline offsets reset GROUP --to ...` would do; nothing changes."""
    target, topics = _reset_request(request.GET)
    context = {"name": name, "to": target, "topics": ",".join(topics), "plan": None,
               "problem": None, "operator": is_operator(request.user)}
    if target:
        try:
            context["plan"] = plan_reset(runtime.connections().settings, name,
                                         parse_bound(target, "end"), topics or None)
        except PipelineError as exc:
            context["problem"] = str(exc)
    return render(request, "console/reset.html", context)


@operator_required
def reset_execute(request, name: str):
    target, topics = _reset_request(request.POST)
    back = reverse("reset", args=[name]) + f"?to={target}&topics={','.join(topics)}"
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the confirmation after reading the plan; nothing changed.")
        return redirect(back)
    settings = runtime.connections().settings
    try:
        # The plan is made again now: the same rules as `pipeline offsets reset --execute`.
        plan = plan_reset(settings, name, parse_bound(target, "end"), topics or None)
        apply_reset(settings, plan)
    except PipelineError as exc:
        audit(request, "offsets-reset", name, f"to {target}: {exc}", "failed")
        messages.error(request, f"Reset refused: {exc}")
        return redirect(back)
    audit(request, "offsets-reset", name, plan.describe(), "ok")
    messages.success(request, f"Offsets of {name} reset to {plan.target.describe()} "
                              f"on {len(plan.changes)} partition(s).")
    return redirect(reverse("group", args=[name]))
