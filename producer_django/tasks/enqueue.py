"""Writing task requests into the outbox, in the caller's transaction.

The one path for every request: `.delay()` in the web app, a worker's next step or retry, a
scheduler's tick. The row goes through `schemas.outbox` (the outbox SQL every writer shares),
on the Django connection of the outbox's database, so it commits with the caller's writes. A
request not to run before `eta_ms` is written with that time as its `available_at`: the relay
ships it when it is due, and nothing else waits for it (its aggregate is its own workflow).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from django.db import connections, transaction

from producer_django.events import context
from producer_django.events.conf import pipeline_settings
from producer_django.tasks.conf import database_alias
from producer_django.tasks.errors import UndeclaredQueue
from producer_django.tasks.request import TaskRequest
from schemas import outbox
from schemas import project as projects
from schemas.ids import new_event_id
from schemas.serde import EventSerializer

_validator = None


def enqueue(request: TaskRequest, *, event_id: str | None = None,
            correlation_id: str | None = None, causation_id: str | None = None,
            producer: str | None = None, using: str | None = None) -> outbox.OutboxRow:
    """Add `request` to the outbox inside the current transaction (or its own)."""
    global _validator
    check_queue(request.queue)
    alias = using or database_alias()
    now = datetime.now(UTC)
    correlation = correlation_id or context.correlation_id() or str(uuid.uuid4())
    row = outbox.new_row(
        projects.TASK_EVENT, request.payload(), event_id=event_id or new_event_id(),
        occurred_at=now, correlation_id=correlation, causation_id=causation_id,
        producer=producer or pipeline_settings()["PRODUCER_NAME"],
        aggregate_id=request.root_id or request.task_id,
    )
    row.topic = projects.task_topic(request.queue)
    if causation_id is None:
        row.traceparent = context.traceparent(correlation)
    if _validator is None:
        _validator = EventSerializer(None)  # validate() needs no registry
    _validator.validate(projects.TASK_EVENT, row.record)
    due = now
    if request.eta_ms is not None and request.eta_ms > time.time() * 1000:
        due = datetime.fromtimestamp(request.eta_ms / 1000, UTC)
    connection = connections[alias]
    with transaction.atomic(using=alias, savepoint=False), connection.cursor() as cursor:
        # created_at = available_at = due: a delayed request is not a delivery backlog.
        outbox.insert(cursor, connection.vendor, row,
                      connection.ops.adapt_datetimefield_value(due))
    return row


def check_queue(queue: str) -> None:
    declared = projects.current().task_queues
    if queue not in declared:
        raise UndeclaredQueue(
            f"queue {queue!r} is not declared; declared queues: {', '.join(declared) or '(none)'}"
            f". Add it to task_queues = [...] in [{projects.TABLE}] of "
            f"{projects.current().source}"
        )
