"""Task results, chord counters and the scheduler's last tick per entry."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

STATUSES = ("PENDING", "STARTED", "RETRY", "SUCCESS", "FAILURE")


class TaskResult(models.Model):
    """The latest state of one task (all attempts share it). No row means PENDING."""

    task_id = models.CharField(max_length=36, primary_key=True)
    task_name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=[(s, s) for s in STATUSES])
    result = models.TextField(null=True, blank=True, help_text="The return value, as JSON.")
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    queue = models.CharField(max_length=100)
    root_id = models.CharField(max_length=36, help_text="The first task of its workflow.")
    chord_id = models.CharField(max_length=36, null=True, blank=True)
    chord_index = models.PositiveIntegerField(null=True, blank=True)
    date_done = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "tasks_result"
        verbose_name = "task result"
        indexes = [models.Index(fields=["chord_id", "chord_index"], name="tasks_result_chord")]

    def __str__(self) -> str:
        return f"{self.task_name} {self.task_id} {self.status}"


class ChordCounter(models.Model):
    """How many members of a chord have finished; the one that makes it `size` publishes the
    callback (an atomic upsert, so exactly one does, whichever worker runs it)."""

    chord_id = models.CharField(max_length=36, primary_key=True)
    size = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "tasks_chord"


class ScheduleState(models.Model):
    """The last tick enqueued per schedule entry; advancing it is a compare-and-set, so each
    tick is enqueued once however many schedulers run."""

    entry = models.CharField(max_length=200, primary_key=True)
    last_tick_ms = models.BigIntegerField()

    class Meta:
        db_table = "tasks_schedule"
