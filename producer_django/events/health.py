"""Outbox health: backlog, oldest pending age, failing rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db import DatabaseError
from django.db.models import Min
from django.utils import timezone

from producer_django.events.conf import pipeline_settings
from producer_django.events.models import OutboxEvent


@dataclass(frozen=True)
class OutboxStats:
    backlog: int
    oldest_pending_age_s: float | None
    failing: int
    last_error: str

    def as_dict(self) -> dict:
        return asdict(self)


def outbox_stats(using: str | None = None) -> OutboxStats:
    alias = using or pipeline_settings()["DATABASE"]
    pending = OutboxEvent.objects.using(alias).filter(published_at__isnull=True)
    summary = pending.aggregate(oldest=Min("created_at"))
    failing = pending.filter(attempts__gt=0)
    last = failing.exclude(last_error="").order_by("-id").values_list("last_error", flat=True)[:1]
    oldest = summary["oldest"]
    return OutboxStats(
        backlog=pending.count(),
        oldest_pending_age_s=(timezone.now() - oldest).total_seconds() if oldest else None,
        failing=failing.count(),
        last_error=next(iter(last), ""),
    )


def health() -> tuple[bool, dict]:
    """(database reachable, report). `status` is "degraded" when delivery lags or fails."""
    conf = pipeline_settings()
    try:
        stats = outbox_stats(conf["DATABASE"])
    except DatabaseError as exc:
        return False, {"status": "down", "database": f"unreachable: {exc}"}
    age = stats.oldest_pending_age_s
    lagging = age is not None and age > conf["HEALTH_MAX_PENDING_AGE_S"]
    return True, {
        "status": "degraded" if lagging or stats.failing else "ok",
        "database": "ok",
        "outbox": stats.as_dict(),
    }

