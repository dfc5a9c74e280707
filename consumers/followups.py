"""Follow-up events of a handled event: the Kafka form of a Celery chain.

A transactional handler calls `tx.publish("InvoiceSent", {...})`; the event goes into the
project's outbox in the worker's transaction, so it exists if and only if the inbox row of the
handled event commits, and the relay ships it like any outbox row. Its metadata comes from the
handled event:

- `event_id`: `schemas.ids.derived_event_id(handled id, event_type, n)`, `n` counting this
  event's follow-ups of that type, so a redelivered or replayed event yields the same ids;
- `causation_id`: the handled event's id; `correlation_id`: the handled event's;
- `producer`: the worker's consumer group; the trace continues the handled record's
  `traceparent` header.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from functools import cache
from typing import Any

from consumers.message import Event, header
from schemas import outbox
from schemas.ids import derived_event_id
from schemas.serde import EventSerializer

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


@cache
def _validator() -> EventSerializer:
    # validate() needs no registry: the event is checked against its schema file.
    return EventSerializer(None)


class FollowUps:
    """The follow-ups one handled event publishes through one transaction."""

    def __init__(self, tx, event: Event, producer: str):
        self.tx = tx
        self.event = event
        self.producer = producer
        self.rows: list[outbox.OutboxRow] = []
        self._per_type: Counter = Counter()

    def publish(self, event_type: str, data: dict[str, Any], *,
                aggregate_id: str | None = None) -> outbox.OutboxRow:
        cause = self.event
        n = self._per_type[event_type]
        now = datetime.now(UTC)
        row = outbox.new_row(
            event_type, data,
            event_id=derived_event_id(cause.event_id, event_type, n),
            occurred_at=now,
            correlation_id=str(cause.data.get("correlation_id") or cause.event_id),
            causation_id=cause.event_id,
            producer=self.producer,
            aggregate_id=aggregate_id,
            trace_id=_trace_id(cause),
        )
        _validator().validate(event_type, row.record)
        self.tx.require_outbox()
        outbox.insert(self.tx.cursor, self.tx.dialect, row,
                      outbox.time_param(self.tx.dialect, now), paramstyle=self.tx.paramstyle)
        self._per_type[event_type] = n + 1
        self.rows.append(row)
        return row


def _trace_id(event: Event) -> str | None:
    if event.message is None:
        return None
    match = _TRACEPARENT.match(header(event.message, "traceparent") or "")
    return match.group(1) if match else None
