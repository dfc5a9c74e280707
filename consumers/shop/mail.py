"""Rendering notification e-mails from Django templates and sending them over SMTP.

Templates live in `consumers/shop/templates/notifications/<template>.subject.txt` and `.body.txt`,
with the NotificationRequested params (docs/CONTRACTS.md) as context. The Message-ID is derived
from the event id, so a re-sent mail carries the same Message-ID as the first one.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.template import Context, Engine, TemplateDoesNotExist

from consumers.handler import PermanentFailure

TEMPLATE_DIR = Path(__file__).parent / "templates"

# Params each template needs (docs/CONTRACTS.md); a missing one is a permanent failure.
REQUIRED_PARAMS = {
    "welcome": ("name",),
    "order_confirmation": ("name", "order_id", "total_cents"),
    "order_shipped": ("name", "order_id", "carrier", "tracking_number"),
    "low_stock": ("sku", "on_hand", "threshold"),
}


@cache
def engine() -> Engine:
    # A private engine: independent of whatever TEMPLATES the process has configured.
    return Engine(dirs=[str(TEMPLATE_DIR)], autoescape=False)


def message_id(event_id: str, domain: str) -> str:
    return f"<{event_id}@{domain}>"


def render(template: str, params: dict[str, str]) -> tuple[str, str]:
    """(subject, body) for a NotificationRequested; PermanentFailure if it cannot be rendered."""
    required = REQUIRED_PARAMS.get(template)
    if required is None:
        raise PermanentFailure(
            f"unknown notification template {template!r}; known: {sorted(REQUIRED_PARAMS)}"
        )
    missing = [p for p in required if p not in params]
    if missing:
        raise PermanentFailure(f"template {template!r} needs params {missing}")
    context = dict(params)
    if "total_cents" in params:
        context["total"] = _money(params["total_cents"])
    try:
        subject = engine().get_template(f"notifications/{template}.subject.txt")
        body = engine().get_template(f"notifications/{template}.body.txt")
    except TemplateDoesNotExist as exc:
        raise PermanentFailure(f"template file missing: {exc}") from exc
    return (
        " ".join(subject.render(Context(context)).split()),
        body.render(Context(context)),
    )


def _money(cents: str) -> str:
    try:
        value = int(cents)
    except ValueError:
        raise PermanentFailure(f"total_cents {cents!r} is not an integer") from None
    return f"{value // 100}.{value % 100:02d}"
