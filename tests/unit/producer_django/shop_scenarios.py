"""Run in a subprocess by test_outbox_admin_and_health: one scenario against the shop's Django
(SQLite, no broker: publish() validates without a registry), printing its findings as JSON.

    python shop_scenarios.py SCENARIO
"""

import json
import os
import sys
import time
import uuid
from datetime import timedelta

import django

django.setup()

from django.contrib.admin.models import LogEntry  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from producer_django.events.models import OutboxEvent  # noqa: E402
from producer_django.shop.catalog.services import create_product  # noqa: E402

CHANGELIST = "/admin/events/outboxevent/"
# Indented, sorted keys, escaped quotes.
PRETTY_START = '<pre style="white-space: pre-wrap">{\n  &quot;aggregate_id&quot;'


def _row(name: str = "Teapot") -> OutboxEvent:
    with transaction.atomic():
        create_product(f"s-{uuid.uuid4().hex[:8]}", name, 1500, 3)
    return OutboxEvent.objects.order_by("-id").first()


def _admin() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username="dev"))
    return client


def admin_is_read_only() -> dict:
    row = _row("<script>alert(1)</script> Kettle")
    client = _admin()
    detail_url = f"{CHANGELIST}{row.pk}/change/"
    changelist = client.get(CHANGELIST).content.decode()
    detail = client.get(detail_url)
    body = detail.content.decode()
    delete_action = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    )
    return {
        "changelist_has_delete_action": "delete_selected" in changelist,
        "changelist_has_retry_action": "retry_now" in changelist,
        "changelist_has_add_link": f"{CHANGELIST}add/" in changelist,
        "detail_status": detail.status_code,
        "detail_has_save": 'name="_save"' in body or 'name="_continue"' in body,
        "detail_has_delete": "deletelink" in body,
        "script_escaped": "&lt;script&gt;alert(1)&lt;/script&gt; Kettle" in body,
        "script_raw": "<script>alert(1)</script>" in body,
        "payload_pretty": PRETTY_START in body,
        "occurred_at_shown_as_date": str(timezone.now().year)
        in body.split("Occurred at:")[1][:400],
        "post_change_status": client.post(detail_url, {"attempts": "9"}).status_code,
        "add_status": client.get(f"{CHANGELIST}add/").status_code,
        "delete_status": client.get(f"{CHANGELIST}{row.pk}/delete/").status_code,
        "delete_post_status": client.post(f"{CHANGELIST}{row.pk}/delete/", {"post": "yes"})
        .status_code,
        "delete_action_status": delete_action.status_code,
        "row_still_there": OutboxEvent.objects.filter(pk=row.pk).exists(),
        "attempts_after": OutboxEvent.objects.get(pk=row.pk).attempts,
    }


def admin_retry_action() -> dict:
    failing, published = _row(), _row()
    later = timezone.now() + timedelta(hours=1)
    OutboxEvent.objects.filter(pk=failing.pk).update(
        attempts=3, last_error="broker said no", available_at=later
    )
    OutboxEvent.objects.filter(pk=published.pk).update(published_at=timezone.now(), attempts=1)

    # A staff user who may view rows but not change them gets no retry.
    viewer = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboxevent"))
    as_viewer = Client()
    as_viewer.force_login(viewer)
    viewer_page = as_viewer.get(CHANGELIST)
    as_viewer.post(CHANGELIST, {"action": "retry_now", "_selected_action": [failing.pk]})
    after_viewer = OutboxEvent.objects.get(pk=failing.pk).attempts

    before = timezone.now()
    client = _admin()
    answer = client.post(
        CHANGELIST, {"action": "retry_now", "_selected_action": [failing.pk, published.pk]},
        follow=True,
    )
    failing.refresh_from_db()
    published.refresh_from_db()
    log = LogEntry.objects.filter(object_id=str(failing.pk)).first()
    return {
        "viewer_status": viewer_page.status_code,
        "viewer_sees_retry": "retry_now" in viewer_page.content.decode(),
        "attempts_after_viewer": after_viewer,
        "status": answer.status_code,
        "message": [str(m) for m in answer.context["messages"]],
        "attempts": failing.attempts,
        "available_now": failing.available_at <= timezone.now()
        and failing.available_at >= before,
        "last_error_kept": failing.last_error,
        "published_untouched": published.attempts == 1 and published.published_at is not None,
        "logged": log.change_message if log else None,
        "logged_by": log.user.username if log else None,
        "published_logged": LogEntry.objects.filter(object_id=str(published.pk)).exists(),
    }


def _health(client: Client, strict: bool = False) -> dict:
    answer = client.get("/health/" + ("?strict=1" if strict else ""))
    return {"code": answer.status_code, **answer.json()}


def health_reports_a_dead_relay_and_a_growing_backlog() -> dict:
    client = Client()
    beat = os.path.join(os.environ["PIPELINE_HOME"], "relay.heartbeat")
    found = {"unconfigured": _health(client)}
    os.environ["PIPELINE_RELAY_HEARTBEAT_FILE"] = beat
    found["missing"] = _health(client)
    found["missing_strict"] = _health(client, strict=True)
    with open(beat, "w"):
        pass
    found["fresh"] = _health(client)
    found["fresh_strict"] = _health(client, strict=True)
    stale = time.time() - 60
    os.utime(beat, (stale, stale))
    found["stale"] = _health(client)
    os.utime(beat, None)
    row = _row()
    OutboxEvent.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(hours=1))
    found["old_backlog"] = _health(client)
    with override_settings(PIPELINE={"RELAY_HEARTBEAT_FILE": ""}):
        OutboxEvent.objects.all().delete()
        os.utime(beat, (stale, stale))
        found["heartbeat_switched_off"] = _health(client)
    return found


def publish_returns_the_stored_row_and_a_failed_insert_dooms_the_transaction() -> dict:
    from django.db import DatabaseError, connection
    from django.forms.models import model_to_dict

    from producer_django.events import publish as publishing

    with transaction.atomic():
        returned = publishing.publish("StockAdjusted", {"sku": "S-1", "delta": 2, "reason": "r"})
    stored = OutboxEvent.objects.get(pk=returned.pk)
    found = {"same_fields": model_to_dict(returned) == model_to_dict(stored),
             "created_at_equal": returned.created_at == stored.created_at}
    real_insert = publishing.outbox.insert

    def broken_insert(*args, **kwargs):
        raise DatabaseError("disk I/O error")

    publishing.outbox.insert = broken_insert
    try:
        with transaction.atomic():
            try:
                publishing.publish("StockAdjusted", {"sku": "S-1", "delta": 1, "reason": "r"})
            except DatabaseError:
                found["needs_rollback"] = connection.needs_rollback
                connection.set_rollback(False)  # end the scenario's transaction cleanly
    finally:
        publishing.outbox.insert = real_insert
    return found


if __name__ == "__main__":
    setup_test_environment()  # responses carry their template context (messages)
    print(json.dumps(globals()[sys.argv[1]](), default=str))
