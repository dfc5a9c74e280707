"""Claiming pending outbox rows and recording what happened to them.

A row is claimable only while it is the oldest pending row of its aggregate (the "head"), so a
batch holds at most one row per aggregate and the next row of that aggregate is produced only
after the previous one was acknowledged. That keeps per-aggregate order even when librdkafka
times a message out while later ones of the same partition get through. There is no "id > last
seen" cursor: a row whose transaction commits late is simply pending until it is claimed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

import orjson
from django.db import connections, transaction
from django.db.models import F
from django.utils import timezone

from producer_django.events.models import OutboxDeadLetter, OutboxEvent
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

_PUBLISHED_SQL = {
    "postgresql": "UPDATE events_outbox SET published_at = %s WHERE id = ANY(%s)",
    "sqlite": "UPDATE events_outbox SET published_at = %s "
              "WHERE id IN (SELECT value FROM json_each(%s))",
}


# The channel migration 0003's trigger notifies when a transaction that inserted rows commits.
NOTIFY_CHANNEL = "events_outbox"
_STOP_CHECK_S = 0.5


class OutboxStore:
    def __init__(self, alias: str, batch_size: int, backoff_initial_s: float, backoff_max_s: float):
        self.alias = alias
        self.batch_size = batch_size
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._listening = None  # the driver connection that LISTENs, on PostgreSQL

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
        # Notifications so far are of commits this claim sees: drop them, so that a wait after
        # an empty claim wakes only for newer rows (and the backlog stays one batch long).
        self._drain_notifications()
        sql = _CLAIM_SQL + (_LOCK_SUFFIX if self.locks_rows else "")
        with connections[self.alias].cursor() as cursor:
            cursor.execute(sql, [now or timezone.now(), self.batch_size])
            rows = cursor.fetchall()
        # Columns in ClaimedRow's order; SQLite returns the payload as text, psycopg decodes it.
        return [
            ClaimedRow(r[0], r[1], r[2], r[3],
                       orjson.loads(r[4]) if isinstance(r[4], str | bytes) else r[4], r[5], r[6])
            for r in rows
        ]

    def mark(self, rows: list[ClaimedRow], results: dict[int, str | None],
             dead: Mapping[int, str] | None = None) -> None:
        """Record delivery results: None = acknowledged by Kafka, else the error text. Rows in
        `dead` (id -> reason) can never be delivered: they move to the dead letters."""
        now = timezone.now()
        delivered = [rid for rid, err in results.items() if err is None]
        with transaction.atomic(using=self.alias, savepoint=False):
            if delivered:
                self._mark_published(delivered, now)
            if dead:
                self._set_aside(dead, now)
            for row in rows:
                error = results.get(row.id, "not attempted")
                if error is None or (dead and row.id in dead):
                    continue
                OutboxEvent.objects.using(self.alias).filter(id=row.id).update(
                    attempts=F("attempts") + 1,
                    last_error=error[:2000],
                    available_at=now + timedelta(seconds=self.retry_delay(row.attempts + 1)),
                )

    def _mark_published(self, ids: list[int], now: datetime) -> None:
        # One parameter for the whole id list: a query with a placeholder per id costs more
        # to build and parse (client and server) than the update itself.
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            cursor.execute(_PUBLISHED_SQL[connection.vendor], [
                connection.ops.adapt_datetimefield_value(now),
                ids if connection.vendor == "postgresql" else json.dumps(ids),
            ])

    def refresh_statistics(self) -> None:
        """ANALYZE the outbox on PostgreSQL. The claim is a cheap ordered index scan only when
        the planner knows how many rows are pending; a freshly loaded backlog (before autovacuum
        gets to it) otherwise makes it scan and sort every pending row on every claim."""
        connection = connections[self.alias]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE events_outbox")

    def _set_aside(self, dead: Mapping[int, str], now: datetime) -> None:
        manager = OutboxEvent.objects.using(self.alias)
        letters = [
            OutboxDeadLetter(
                outbox_id=row.id, event_id=row.event_id, event_type=row.event_type,
                topic=row.topic, key=row.key, aggregate_type=row.aggregate_type,
                aggregate_id=row.aggregate_id, aggregate_version=row.aggregate_version,
                payload=row.payload, traceparent=row.traceparent, created_at=row.created_at,
                attempts=row.attempts + 1, reason=dead[row.id], dead_at=now,
            )
            for row in manager.filter(id__in=list(dead))
        ]
        OutboxDeadLetter.objects.using(self.alias).bulk_create(letters)
        manager.filter(id__in=list(dead)).delete()

    def wait_for_rows(self, timeout_s: float, stop: threading.Event) -> bool:
        """Wait up to `timeout_s` for new rows, or until `stop` is set; True if woken by new
        rows. On PostgreSQL a commit that inserted rows ends the wait at once (LISTEN/NOTIFY);
        rows that only become due (a retry's available_at) are found when the time is up, as
        on other databases."""
        connection = self._listen()
        if connection is None:
            stop.wait(timeout_s)
            return False
        deadline = time.monotonic() + timeout_s
        # In slices, so that a long POLL_INTERVAL_S does not delay a stop (SIGTERM).
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            slice_s = min(remaining, _STOP_CHECK_S)
            if any(True for _ in connection.notifies(timeout=slice_s, stop_after=1)):
                return True
        return False

    def _listen(self):
        """The driver connection LISTENing on NOTIFY_CHANNEL (None where there is no NOTIFY);
        LISTENs again on a new connection (after a reset or a reconnect)."""
        if not self.locks_rows:
            return None
        wrapper = connections[self.alias]
        wrapper.ensure_connection()
        if self._listening is not wrapper.connection:
            with wrapper.cursor() as cursor:
                cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self._listening = wrapper.connection
        return self._listening

    def _drain_notifications(self) -> None:
        connection = self._listening
        if connection is not None and connection is connections[self.alias].connection:
            for _ in connection.notifies(timeout=0):
                pass

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
