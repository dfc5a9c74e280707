"""The outbox table and the per-aggregate version counter."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class _EventColumns(models.Model):
    """What an outbox row says of its event: shared by the outbox and its dead letters."""

    # Not indexed: unique by construction (schemas.ids), and each index costs every publish
    # and every mark.
    event_id = models.UUIDField(editable=False)
    event_type = models.CharField(max_length=100)
    topic = models.CharField(max_length=249)
    key = models.CharField(max_length=255)
    aggregate_type = models.CharField(max_length=100)
    aggregate_id = models.CharField(max_length=255)
    aggregate_version = models.BigIntegerField()

    class Meta:
        abstract = True


class OutboxEvent(_EventColumns):
    """One event waiting for (or done with) delivery to Kafka.

    Rows of one aggregate are delivered in `id` order, which equals `aggregate_version` order
    because `publish` takes the aggregate's version row lock before inserting.
    """

    payload = models.JSONField(help_text="The full Avro record, occurred_at in epoch millis.")
    traceparent = models.CharField(max_length=55, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    available_at = models.DateTimeField(
        default=timezone.now, help_text="Not retried before this time (backoff after a failure)."
    )
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "events_outbox"
        verbose_name = "outbox event"
        # No unique (aggregate, version) index: events_aggregate_version hands each version out
        # once, and every index here costs each request that publishes.
        indexes = [
            # The relay's claim reads only pending rows; partial indexes keep that cheap however
            # many published rows retention keeps.
            models.Index(
                fields=["id"], name="events_outbox_pending", condition=Q(published_at__isnull=True)
            ),
            models.Index(
                fields=["aggregate_type", "aggregate_id", "id"],
                name="events_outbox_pending_agg",
                condition=Q(published_at__isnull=True),
            ),
            # Retention cleanup; partial, so inserting a pending row does not touch it.
            models.Index(
                fields=["published_at"], name="events_outbox_published",
                condition=Q(published_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.aggregate_id} v{self.aggregate_version}"

    @property
    def status(self) -> str:
        if self.published_at:
            return "published"
        return "failing" if self.attempts else "pending"


class AggregateVersion(models.Model):
    """The last `aggregate_version` handed out per aggregate."""

    aggregate_type = models.CharField(max_length=100)
    aggregate_id = models.CharField(max_length=255)
    version = models.BigIntegerField()

    class Meta:
        db_table = "events_aggregate_version"
        constraints = [
            models.UniqueConstraint(
                fields=["aggregate_type", "aggregate_id"], name="events_aggregate_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.aggregate_type}:{self.aggregate_id} v{self.version}"


class OutboxDeadLetter(_EventColumns):
    """An outbox row the relay cannot ever deliver, moved aside so it blocks nothing.

    Today that is an event over its topic's max.message.bytes (written before the limit was
    lowered, or by a writer that skipped `publish`'s check). `outbox_id` is the row's origin;
    the rest is the row as it was, plus why and when it was set aside. Later rows of the same
    aggregate are delivered; re-publish the event once it fits (or the limit is raised).
    """

    outbox_id = models.BigIntegerField(help_text="id of the outbox row this was")
    payload = models.JSONField()
    traceparent = models.CharField(max_length=55, blank=True)
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    reason = models.TextField()
    dead_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "events_outbox_dead"
        verbose_name = "outbox dead letter"

    def __str__(self) -> str:
        return f"{self.event_type} {self.aggregate_id} v{self.aggregate_version} (dead)"
