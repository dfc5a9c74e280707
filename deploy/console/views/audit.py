from __future__ import annotations

from django.shortcuts import render

from deploy.console.models import AuditEntry

SHOWN = 200


def audit_log(request):
    return render(request, "console/audit.html",
                  {"entries": AuditEntry.objects.all()[:SHOWN]})
