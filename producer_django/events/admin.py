"""Admin pages for the outbox: rows by status, with backlog, oldest pending age and failures."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from producer_django.events.health import outbox_stats
from producer_django.events.models import OutboxEvent


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

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        # Rows come from publish() inside a domain transaction, never by hand.
        return False

    @admin.display(description="last error")
    def short_error(self, obj):
        return obj.last_error[:80]

    @admin.action(description="Retry the selected failing rows now")
    def retry_now(self, request, queryset):
        changed = queryset.filter(published_at__isnull=True).update(available_at=timezone.now())
        self.message_user(request, f"{changed} rows will be retried at the next relay pass.")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "outbox_stats": outbox_stats()}
        return super().changelist_view(request, extra_context=extra_context)
