"""Helpers shared by the console's views: the audit log and failures shown on the page."""

from __future__ import annotations

from deploy.console import metrics
from deploy.console.models import AuditEntry


def audit(request, action: str, target: str, detail: str, outcome: str) -> AuditEntry:
    metrics.ACTIONS.labels(action, outcome).inc()
    return AuditEntry.objects.create(
        username=request.user.get_username(), action=action, target=target,
        detail=detail[:4000], outcome=outcome,
    )


def clauses(text: str) -> list[str]:
    """`--where` clauses from a textarea: one per line, blank lines ignored."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]
