"""System checks: settings (events.E001-E004) and the database (events.W001)."""

from __future__ import annotations

from django.core import checks

from producer_django.events import conf

_IDS = {"unknown": "events.E001", "type": "events.E002", "value": "events.E003"}
SUPPORTED_VENDORS = ("postgresql", "sqlite")


def check_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from django.conf import settings

    user = getattr(settings, "PIPELINE", {})
    errors = [
        checks.Error(p.message, hint=p.hint or None, id=_IDS[p.code])
        for p in conf.problems(user)
    ]
    if not errors and user.get("DATABASE", "default") not in settings.DATABASES:
        errors.append(
            checks.Error(
                f"PIPELINE['DATABASE'] names {user['DATABASE']!r}, which is not in DATABASES",
                hint=f"Use one of: {', '.join(settings.DATABASES)}.",
                id="events.E004",
            )
        )
    return errors


def check_database(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    from django.conf import settings
    from django.db import connections

    alias = getattr(settings, "PIPELINE", {}).get("DATABASE", "default")
    if alias not in settings.DATABASES:
        return []
    vendor = connections[alias].vendor
    if vendor in SUPPORTED_VENDORS:
        return []
    return [
        checks.Warning(
            f"the outbox relay is tested on PostgreSQL and SQLite, not {vendor}",
            hint="Run a single relay: concurrent claiming relies on PostgreSQL's SKIP LOCKED.",
            id="events.W001",
        )
    ]
