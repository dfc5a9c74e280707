"""The tasks' settings: `settings.PIPELINE_TASKS` laid over DEFAULTS, read at call time.

Tasks use the database of the outbox (`PIPELINE["DATABASE"]`), so a request, its result and
its next step commit together. An unknown key is an error naming it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from producer_django.events.conf import pipeline_settings
from schemas.errors import ConfigError

DEFAULTS: dict[str, Any] = {
    # Results (and chord counters) are deleted this long after the task finished.
    "RESULT_EXPIRES_S": 24 * 3600,
}


def tasks_settings() -> dict[str, Any]:
    given = getattr(settings, "PIPELINE_TASKS", {}) or {}
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ConfigError(
            f"unknown PIPELINE_TASKS keys {unknown}; known keys: {sorted(DEFAULTS)}"
        )
    merged = {**DEFAULTS, **given}
    if not isinstance(merged["RESULT_EXPIRES_S"], int | float) or merged["RESULT_EXPIRES_S"] < 0:
        raise ConfigError(
            f"PIPELINE_TASKS['RESULT_EXPIRES_S'] must be seconds >= 0, got "
            f"{merged['RESULT_EXPIRES_S']!r}"
        )
    return merged


def database_alias() -> str:
    """The Django database of the outbox, which tasks share."""
    return pipeline_settings()["DATABASE"]
