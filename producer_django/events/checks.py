"""System checks: settings (events.E001-E004), middleware paths (events.E005) and the
database (events.W001)."""

from __future__ import annotations

from django.core import checks
from django.utils.module_loading import import_string

from producer_django.events import conf

PACKAGE = "producer_django."
CORRELATION_MIDDLEWARE = "producer_django.events.context.CorrelationMiddleware"
# Paths a reader of older docs may have copied, relative to the package.
_SHORT_PREFIXES = ("events.",)

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


def check_middleware(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from django.conf import settings

    return middleware_problems(getattr(settings, "MIDDLEWARE", None) or [])


def middleware_problems(middleware) -> list[checks.CheckMessage]:
    """A MIDDLEWARE entry of this package that does not import fails the first request with a
    ModuleNotFoundError; name it at `manage.py check` instead."""
    errors = []
    for path in middleware:
        if not isinstance(path, str):
            continue
        ours = path.startswith(PACKAGE) or path.startswith(_SHORT_PREFIXES)
        if not ours:
            continue
        try:
            import_string(path)
        except ImportError as exc:
            errors.append(
                checks.Error(
                    f"MIDDLEWARE entry {path!r} does not import: {exc}",
                    hint=f"Use the full dotted path; the correlation middleware is "
                    f"{CORRELATION_MIDDLEWARE!r}.",
                    obj=path,
                    id="events.E005",
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
