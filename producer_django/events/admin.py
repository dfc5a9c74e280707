"""Admin pages for the outbox: rows by status, with backlog, oldest pending age and failures.

Rows are read-only: they come from `publish()` inside a domain transaction and leave through
the relay, so the admin can neither add, edit nor delete one (deleting an unpublished row
would lose its event). The one change it offers is an explicit, logged action: retry failing
rows now.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import display_for_value
from django.db import transaction
from django.utils import timezone
from django.utils.html import format_html

from producer_django.events.health import outbox_stats
from producer_django.events.models import OutboxDeadLetter, OutboxEvent

logger = logging.getLogger(__name__)

RETRY_PERMISSION = "events.change_outboxevent"


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("pending", "pending"), ("failing", "failing"), ("published", "published")]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(published_at__isnull=True)
        if self.value() == "failing":
            return queryset.filter(published_at__isnull=True, attempts__gt=0)
        if self.value() == "published":
            return queryset.filter(published_at__isnull=False)
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = (
        "id", "event_type", "aggregate_id", "aggregate_version", "status", "created_at",
        "published_at", "attempts", "short_error",
    )
    list_filter = (StatusFilter, "event_type", "topic")
    search_fields = ("event_id", "aggregate_id", "event_type")
    ordering = ("-id",)
    actions = ["retry_now"]
    change_list_template = "admin/events/outboxevent/change_list.html"
    fields = (
        "event_id", "event_type", "topic", "key", "aggregate_type", "aggregate_id",
        "aggregate_version", "status", "occurred_at", "created_at", "available_at",
        "published_at", "attempts", "last_error", "traceparent", "pretty_payload",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        # The admin never edits a row; retrying is the one change, for those who may change rows.
        return request.user.has_perm(RETRY_PERMISSION)

    @admin.display(description="last error")
    def short_error(self, obj):
        return obj.last_error[:80]

    @admin.display(description="occurred at")
    def occurred_at(self, obj):
        """The record's `occurred_at` (epoch millis in the payload) as a date."""
        payload = obj.payload if isinstance(obj.payload, dict) else {}
        millis = payload.get("occurred_at")
        if not isinstance(millis, int | float) or isinstance(millis, bool):
            return "-"
        try:
            moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return f"{millis} (not a valid time)"
        return display_for_value(moment, "-")

    @admin.display(description="payload")
    def pretty_payload(self, obj):
        text = json.dumps(obj.payload, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)

    @admin.action(description="Retry the selected failing rows now", permissions=["retry"])
    def retry_now(self, request, queryset):
        with transaction.atomic(using=queryset.db):
            rows = list(queryset.select_for_update().filter(published_at__isnull=True))
            ids = [row.pk for row in rows]
            OutboxEvent.objects.using(queryset.db).filter(pk__in=ids).update(
                available_at=timezone.now(), attempts=0
            )
        message = "Retry requested: attempts reset, available now."
        LogEntry.objects.log_actions(
            user_id=request.user.pk, queryset=rows, action_flag=CHANGE, change_message=message,
        )
        logger.info("outbox rows %s: retry requested by %s", ids, request.user)
        skipped = queryset.count() - len(ids)
        note = f" {skipped} already published rows were left alone." if skipped else ""
        self.message_user(request, f"{len(ids)} rows will be retried at the next relay pass.{note}")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "outbox_stats": outbox_stats()}
        return super().changelist_view(request, extra_context=extra_context)


@admin.register(OutboxDeadLetter)
class OutboxDeadLetterAdmin(admin.ModelAdmin):
    """Rows the relay set aside (too large for their topic): read-only, with their origin."""

    list_display = ("outbox_id", "event_type", "topic", "aggregate_id", "aggregate_version",
                    "dead_at", "short_reason")
    list_filter = ("event_type", "topic")
    search_fields = ("event_id", "aggregate_id", "event_type")
    ordering = ("-dead_at",)
    readonly_fields = fields = (
        "outbox_id", "event_id", "event_type", "topic", "key", "aggregate_type", "aggregate_id",
        "aggregate_version", "created_at", "dead_at", "attempts", "reason", "traceparent",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="reason")
    def short_reason(self, obj):
        return obj.reason[:120]
