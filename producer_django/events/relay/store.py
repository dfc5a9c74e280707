"""Claiming pending outbox rows and recording what happened to them.

A row is claimable only while it is the oldest pending row of its aggregate (the "head"), so a
batch holds at most one row per aggregate and the next row of that aggregate is produced only
after the previous one was acknowledged. That keeps per-aggregate order even when librdkafka
times a message out while later ones of the same partition get through. There is no "id > last
seen" cursor: a row whose transaction commits late is simply pending until it is claimed.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.db import connections, transaction
from django.db.models import F
from django.utils import timezone

from producer_django.events.models import OutboxEvent
from producer_django.events.relay.rows import ClaimedRow

_CLAIM_SQL = """
SELECT o.id, o.event_type, o.topic, o.key, o.payload, o.traceparent, o.attempts
FROM events_outbox o
WHERE o.published_at IS NULL AND o.available_at <= %s
  AND NOT EXISTS (
    SELECT 1 FROM events_outbox p
    WHERE p.published_at IS NULL
      AND p.aggregate_type = o.aggregate_type
      AND p.aggregate_id = o.aggregate_id
      AND p.id < o.id)
ORDER BY o.id
LIMIT %s
"""
# Several relays may run on PostgreSQL: each locks its heads and skips the others' rows.
_LOCK_SUFFIX = "FOR UPDATE OF o SKIP LOCKED"

_CLEANUP_CHUNK = 5000


class OutboxStore:
    def __init__(self, alias: str, batch_size: int, backoff_initial_s: float, backoff_max_s: float):
        self.alias = alias
        self.batch_size = batch_size
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s

    @property
    def locks_rows(self) -> bool:
        """True where claims are row locks that let several relays share the table."""
        return connections[self.alias].vendor == "postgresql"

    def batch(self):
        """The scope of one batch. With row locks it is the transaction holding them, so a
        crashed relay's claims are released by the database; otherwise it is empty and the
        single claimer marks rows in its own short transaction (see `mark`)."""
        if self.locks_rows:
            return transaction.atomic(using=self.alias)
        return _nothing()

    def claim(self, now: datetime | None = None) -> list[ClaimedRow]:
        sql = _CLAIM_SQL + (_LOCK_SUFFIX if self.locks_rows else "")
        with connections[self.alias].cursor() as cursor:
            cursor.execute(sql, [now or timezone.now(), self.batch_size])
            rows = cursor.fetchall()
        return [
            ClaimedRow(
                id=r[0], event_type=r[1], topic=r[2], key=r[3],
                payload=json.loads(r[4]) if isinstance(r[4], str | bytes) else r[4],
                traceparent=r[5], attempts=r[6],
            )
            for r in rows
        ]

    def mark(self, rows: list[ClaimedRow], results: dict[int, str | None]) -> None:
        """Record delivery results: None = acknowledged by Kafka, else the error text."""
        now = timezone.now()
        delivered = [rid for rid, err in results.items() if err is None]
        with transaction.atomic(using=self.alias, savepoint=False):
            if delivered:
                OutboxEvent.objects.using(self.alias).filter(id__in=delivered).update(
                    published_at=now
                )
            for row in rows:
                error = results.get(row.id, "not attempted")
                if error is None:
                    continue
                OutboxEvent.objects.using(self.alias).filter(id=row.id).update(
                    attempts=F("attempts") + 1,
                    last_error=error[:2000],
                    available_at=now + timedelta(seconds=self.retry_delay(row.attempts + 1)),
                )

    def retry_delay(self, attempts: int) -> float:
        return min(self.backoff_initial_s * 2 ** max(attempts - 1, 0), self.backoff_max_s)

    def reset_connection(self) -> None:
        connections[self.alias].close()

    def has_pending(self) -> bool:
        return OutboxEvent.objects.using(self.alias).filter(published_at__isnull=True).exists()

    def cleanup(self, published_before: datetime) -> int:
        """Delete rows published before the cutoff, in chunks; returns how many."""
        deleted = 0
        manager = OutboxEvent.objects.using(self.alias)
        while True:
            ids = list(
                manager.filter(published_at__lt=published_before)
                .order_by("id")
                .values_list("id", flat=True)[:_CLEANUP_CHUNK]
            )
            if not ids:
                return deleted
            deleted += manager.filter(id__in=ids).delete()[0]


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
