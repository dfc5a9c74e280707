"""Outbox health: backlog, oldest pending age, failing rows, and whether the relay is alive.

`health()` says "degraded", with its reasons, when events are not getting out: the oldest
pending row is older than HEALTH_MAX_PENDING_AGE_S, rows are failing, or the relay's heartbeat
file (when one is configured) is missing or stale. The web server itself still serves
requests then (events wait in the outbox), which is why the view answers 200 unless asked to
be strict.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.db import DatabaseError
from django.db.models import Min
from django.utils import timezone

from producer_django.events.conf import pipeline_settings, relay_heartbeat_file
from producer_django.events.models import OutboxEvent

ERROR_EXCERPT = 200


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


def heartbeat_age_s(path: str, now: float | None = None) -> float | None:
    """Seconds since the relay last touched `path`; None when the file does not exist."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    return max(0.0, (time.time() if now is None else now) - mtime)


def degraded_reasons(
    stats: OutboxStats, conf: Mapping[str, Any], heartbeat: dict | None = None
) -> list[str]:
    """Why delivery is not healthy, one sentence each; empty when it is."""
    reasons = []
    age, limit = stats.oldest_pending_age_s, conf["HEALTH_MAX_PENDING_AGE_S"]
    if age is not None and age > limit:
        reasons.append(
            f"the oldest pending event is {age:.0f} s old (limit {limit:g} s, "
            "HEALTH_MAX_PENDING_AGE_S): the relay is behind or not delivering"
        )
    if stats.failing:
        reasons.append(
            f"{stats.failing} outbox rows failing; last error: "
            f"{stats.last_error[:ERROR_EXCERPT] or 'none recorded'}"
        )
    if heartbeat is not None:
        beat, beat_limit = heartbeat["heartbeat_age_s"], heartbeat["max_age_s"]
        if beat is None:
            reasons.append("the relay heartbeat file does not exist: the relay is not running")
        elif beat > beat_limit:
            reasons.append(
                f"the relay heartbeat is {beat:.0f} s old (limit {beat_limit:g} s, "
                "RELAY_HEARTBEAT_MAX_AGE_S): the relay is not running or is stuck"
            )
    return reasons


def health() -> tuple[bool, dict]:
    """(database reachable, report). `status` is "ok", "degraded" (with `reasons`) or "down"."""
    conf = pipeline_settings()
    try:
        stats = outbox_stats(conf["DATABASE"])
    except DatabaseError as exc:
        return False, {
            "status": "down",
            "database": f"unreachable: {exc}",
            "reasons": [f"the database {conf['DATABASE']!r} is unreachable: {exc}"],
        }
    heartbeat = None
    path = relay_heartbeat_file(conf)
    if path:
        heartbeat = {
            "heartbeat_age_s": heartbeat_age_s(path),
            "max_age_s": conf["RELAY_HEARTBEAT_MAX_AGE_S"],
        }
    reasons = degraded_reasons(stats, conf, heartbeat)
    report = {
        "status": "degraded" if reasons else "ok",
        "database": "ok",
        "outbox": stats.as_dict(),
        "reasons": reasons,
    }
    if heartbeat is not None:
        report["relay"] = heartbeat
    return True, report
