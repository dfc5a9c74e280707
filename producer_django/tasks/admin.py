"""Admin pages for task results (read-only: the worker writes them)."""

from django.contrib import admin

from producer_django.tasks.models import TaskResult


@admin.register(TaskResult)
class TaskResultAdmin(admin.ModelAdmin):
    list_display = ("task_id", "task_name", "status", "attempts", "queue", "date_done")
    list_filter = ("status", "task_name", "queue")
    search_fields = ("task_id", "task_name", "root_id", "chord_id")
    date_hierarchy = "date_done"
    readonly_fields = [f.name for f in TaskResult._meta.fields]
    ordering = ("-date_done",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
