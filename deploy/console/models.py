"""The console's own tables: the audit log (with the operator permission) and metric samples."""

from __future__ import annotations

from django.db import models

OPERATE = "console.operate"


class AuditEntry(models.Model):
    """One changing action: who did it, on what, with what result."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=64)  # "redrive", "offsets-reset"
    target = models.CharField(max_length=255)
    detail = models.TextField(blank=True, default="")
    outcome = models.CharField(max_length=16)  # "ok" or "failed"

    class Meta:
        ordering = ["-at", "-id"]
        permissions = [("operate", "Can redrive dead letters and reset consumer offsets")]


class MetricSample(models.Model):
    """A sampled number: a partition's end offset (kind "end") or a group's lag on a partition
    (kind "lag"); `name` is the topic or the group."""

    at_ms = models.BigIntegerField(db_index=True)
    kind = models.CharField(max_length=8)
    name = models.CharField(max_length=255)
    topic = models.CharField(max_length=255)
    partition = models.IntegerField()
    value = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["kind", "name", "at_ms"], name="console_sample_series")]
