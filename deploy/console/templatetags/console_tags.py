from __future__ import annotations

from django import template

from consumers.replay.ranges import format_ms

register = template.Library()


@register.filter
def ms_time(value) -> str:
    """Epoch milliseconds as ISO 8601 UTC."""
    try:
        return format_ms(int(value))
    except (TypeError, ValueError):
        return "-"


@register.filter
def sub(value, other):
    return int(value) - int(other)
