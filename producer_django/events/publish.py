"""`publish`: write one typed event into the outbox, inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import connections, transaction

from producer_django.events import context
from producer_django.events.conf import pipeline_settings
from producer_django.events.models import OutboxEvent
from schemas import catalog
from schemas.serde import EventSerializer

# One statement takes (or creates) the aggregate's version row lock and returns the new
# version; a concurrent writer of the same aggregate waits here until the first commits,
# so outbox ids of one aggregate are in version order. SQLite >= 3.35 and PostgreSQL.
_NEXT_VERSION_SQL = (
    "INSERT INTO events_aggregate_version (aggregate_type, aggregate_id, version) "
    "VALUES (%s, %s, 1) "
    "ON CONFLICT (aggregate_type, aggregate_id) "
    "DO UPDATE SET version = events_aggregate_version.version + 1 "
    "RETURNING version"
)


@cache
def _validator() -> EventSerializer:
    # validate() needs no registry; the relay serializes with a connected one.
    return EventSerializer(None)


def publish(
    event_type: str,
    data: Mapping[str, Any],
    *,
    aggregate_id: str | None = None,
    aggregate_type: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    occurred_at: datetime | None = None,
    using: str | None = None,
) -> OutboxEvent:
    """Validate `data` against the event's Avro schema and add it to the outbox.

    `data` holds the payload fields; the metadata (event_id, occurred_at, aggregate_id,
    aggregate_version, correlation_id, causation_id, producer) is filled in here. The aggregate
    defaults to `(topic, <key field>)`, so versions are per Kafka key. Joins the caller's
    transaction (or opens one): the row exists if and only if the caller's writes commit.
    Raises SerializationError naming the field when the event does not match its schema.
    """
    conf = pipeline_settings()
    spec = catalog.event_type(event_type)
    alias = using or conf["DATABASE"]
    agg_id = str(aggregate_id if aggregate_id is not None else data.get(spec.key_field, ""))
    agg_type = aggregate_type or spec.topic
    correlation = correlation_id or context.correlation_id() or str(uuid.uuid4())
    when = occurred_at or datetime.now(UTC)
    record = {
        **data,
        "event_id": str(uuid.uuid4()),
        "occurred_at": int(when.timestamp() * 1000),
        "aggregate_id": agg_id,
        "aggregate_version": 0,
        "correlation_id": correlation,
        "causation_id": causation_id,
        "producer": conf["PRODUCER_NAME"],
    }
    _validator().validate(event_type, record)
    with transaction.atomic(using=alias, savepoint=False):
        with connections[alias].cursor() as cursor:
            cursor.execute(_NEXT_VERSION_SQL, [agg_type, agg_id])
            record["aggregate_version"] = cursor.fetchone()[0]
        return OutboxEvent.objects.using(alias).create(
            event_id=record["event_id"],
            event_type=event_type,
            topic=spec.topic,
            key=str(record.get(spec.key_field, agg_id)),
            aggregate_type=agg_type,
            aggregate_id=agg_id,
            aggregate_version=record["aggregate_version"],
            payload=record,
            traceparent=context.traceparent(correlation),
        )
