"""`publish`: write one typed event into the outbox, inside the caller's transaction."""

from __future__ import annotations

import json
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
_INSERT_SQL = (
    "INSERT INTO events_outbox (event_id, event_type, topic, key, aggregate_type, aggregate_id, "
    "aggregate_version, payload, traceparent, created_at, available_at, attempts, last_error) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '') RETURNING id"
)
_PG_PUBLISH_SQL = (
    "WITH v AS (" + _NEXT_VERSION_SQL + ") "
    "INSERT INTO events_outbox (event_id, event_type, topic, key, aggregate_type, aggregate_id, "
    "aggregate_version, payload, traceparent, created_at, available_at, attempts, last_error) "
    "SELECT %s, %s, %s, %s, %s, %s, v.version, "
    "jsonb_set(%s::jsonb, '{aggregate_version}', to_jsonb(v.version)), %s, %s, %s, 0, '' "
    "FROM v RETURNING id, aggregate_version"
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
    now = datetime.now(UTC)
    when = occurred_at or now
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
    event = OutboxEvent(
        event_id=record["event_id"],
        event_type=event_type,
        topic=spec.topic,
        key=str(record.get(spec.key_field, agg_id)),
        aggregate_type=agg_type,
        aggregate_id=agg_id,
        payload=record,
        traceparent=context.traceparent(correlation),
        created_at=now,
        available_at=now,
    )
    connection = connections[alias]
    head = [_uuid_param(connection, event.event_id), event_type, event.topic, event.key,
            agg_type, agg_id]
    times = [_time_param(connection, now), _time_param(connection, now)]
    with transaction.atomic(using=alias, savepoint=False), connection.cursor() as cursor:
        # Plain SQL rather than Model.save(): this runs in every request that writes.
        if connection.vendor == "postgresql":
            # One round trip: the version upsert feeds the insert (and the payload's version).
            cursor.execute(
                _PG_PUBLISH_SQL,
                [agg_type, agg_id, *head, json.dumps(record), event.traceparent, *times],
            )
            event.id, event.aggregate_version = cursor.fetchone()
            record["aggregate_version"] = event.aggregate_version
        else:
            cursor.execute(_NEXT_VERSION_SQL, [agg_type, agg_id])
            record["aggregate_version"] = event.aggregate_version = cursor.fetchone()[0]
            cursor.execute(
                _INSERT_SQL,
                [*head, event.aggregate_version, json.dumps(record), event.traceparent, *times],
            )
            event.id = cursor.fetchone()[0]
    return event


def _uuid_param(connection, value: str):
    # Django stores UUIDs as 32 hex chars on SQLite and as uuid on PostgreSQL.
    return uuid.UUID(value) if connection.vendor == "postgresql" else uuid.UUID(value).hex


def _time_param(connection, when: datetime):
    return connection.ops.adapt_datetimefield_value(when)
