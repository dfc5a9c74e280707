"""The outbox row, written once for every writer: Django's `publish` and a worker's follow-ups.

DB-API level, so it runs on a Django cursor and on a raw sqlite3/psycopg cursor alike: SQL is
written with `%s` placeholders and turned into `?` for the qmark paramstyle (raw sqlite3). The
tables are the `producer_django.events` app's (`events_outbox`, `events_aggregate_version`),
created by its migrations; the relay drains them.

Each insert takes (or creates) the aggregate's version row lock first and stamps the version
into the row and its payload; a concurrent writer of the same aggregate waits until the first
commits, so outbox ids of one aggregate are in version order. SQLite >= 3.35 and PostgreSQL.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas import catalog
from schemas.errors import ConfigError

OUTBOX_TABLE = "events_outbox"
VERSION_TABLE = "events_aggregate_version"

_NEXT_VERSION_SQL = (
    f"INSERT INTO {VERSION_TABLE} (aggregate_type, aggregate_id, version) "
    "VALUES (%s, %s, 1) "
    "ON CONFLICT (aggregate_type, aggregate_id) "
    f"DO UPDATE SET version = {VERSION_TABLE}.version + 1 "
    "RETURNING version"
)
_COLUMNS = (
    "event_id, event_type, topic, key, aggregate_type, aggregate_id, aggregate_version, "
    "payload, traceparent, created_at, available_at, attempts, last_error"
)
_INSERT_SQL = (
    f"INSERT INTO {OUTBOX_TABLE} ({_COLUMNS}) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '') RETURNING id"
)
# PostgreSQL: one round trip, the version upsert feeds the insert and the payload's version.
_PG_INSERT_SQL = (
    "WITH v AS (" + _NEXT_VERSION_SQL + ") "
    f"INSERT INTO {OUTBOX_TABLE} ({_COLUMNS}) "
    "SELECT %s, %s, %s, %s, %s, %s, v.version, "
    "jsonb_set(%s::jsonb, '{aggregate_version}', to_jsonb(v.version)), %s, %s, %s, 0, '' "
    "FROM v RETURNING id, aggregate_version"
)
_EXISTS_SQL = {
    "sqlite": "SELECT count(*) FROM sqlite_master "
              f"WHERE type = 'table' AND name = '{OUTBOX_TABLE}'",
    "postgresql": f"SELECT count(*) FROM (SELECT to_regclass('{OUTBOX_TABLE}') AS t) r "
                  "WHERE r.t IS NOT NULL",
}


class OutboxMissing(ConfigError):
    """The database has no outbox table to write follow-up events into."""


@dataclass
class OutboxRow:
    """One event for the outbox; `record` is the full Avro record (its `aggregate_version` is
    set by `insert`)."""

    event_id: str
    event_type: str
    topic: str
    key: str
    aggregate_type: str
    aggregate_id: str
    record: dict[str, Any]
    traceparent: str
    id: int | None = None

    @property
    def aggregate_version(self) -> int:
        return int(self.record["aggregate_version"])


def new_row(
    event_type: str,
    data: Mapping[str, Any],
    *,
    event_id: str,
    occurred_at: datetime,
    correlation_id: str,
    causation_id: str | None,
    producer: str,
    aggregate_id: str | None = None,
    aggregate_type: str | None = None,
    trace_id: str | None = None,
) -> OutboxRow:
    """The row of a declared event: metadata filled in around the payload `data`.

    The aggregate defaults to `(topic, <key field>)`, so versions are per Kafka key; the trace
    id (W3C, 32 hex) falls back to the correlation id. UnknownEventType for an undeclared event.
    """
    spec = catalog.event_type(event_type)
    agg_id = str(aggregate_id if aggregate_id is not None else data.get(spec.key_field, ""))
    record = {
        **data,
        "event_id": event_id,
        "occurred_at": int(occurred_at.timestamp() * 1000),
        "aggregate_id": agg_id,
        "aggregate_version": 0,
        "correlation_id": correlation_id,
        "causation_id": causation_id,
        "producer": producer,
    }
    return OutboxRow(
        event_id=event_id,
        event_type=event_type,
        topic=spec.topic,
        key=str(record.get(spec.key_field, agg_id)),
        aggregate_type=aggregate_type or spec.topic,
        aggregate_id=agg_id,
        record=record,
        traceparent=traceparent(trace_id or _trace_of(correlation_id)),
    )


def insert(cursor, dialect: str, row: OutboxRow, now, *, paramstyle: str = "format") -> None:
    """Add `row` to the outbox in the cursor's open transaction; sets `row.id` and the
    aggregate version. `now` is the time for created_at/available_at as the driver takes it
    (`time_param`, or Django's `connection.ops.adapt_datetimefield_value`)."""
    head = [_uuid_param(dialect, row.event_id), row.event_type, row.topic, row.key,
            row.aggregate_type, row.aggregate_id]
    if dialect == "postgresql":
        cursor.execute(
            _sql(_PG_INSERT_SQL, paramstyle),
            [row.aggregate_type, row.aggregate_id, *head, json.dumps(row.record),
             row.traceparent, now, now],
        )
        row.id, version = cursor.fetchone()
        row.record["aggregate_version"] = int(version)
        return
    cursor.execute(_sql(_NEXT_VERSION_SQL, paramstyle), [row.aggregate_type, row.aggregate_id])
    row.record["aggregate_version"] = int(cursor.fetchone()[0])
    cursor.execute(
        _sql(_INSERT_SQL, paramstyle),
        [*head, row.aggregate_version, json.dumps(row.record), row.traceparent, now, now],
    )
    row.id = cursor.fetchone()[0]


def exists(cursor, dialect: str) -> bool:
    """Whether the outbox table is there (a query that cannot fail, so a PostgreSQL
    transaction stays usable)."""
    cursor.execute(_EXISTS_SQL[dialect])
    return cursor.fetchone()[0] > 0


def missing(where: str) -> OutboxMissing:
    return OutboxMissing(
        f"{where} has no {OUTBOX_TABLE} table, so follow-up events cannot be published; add "
        "\"producer_django.events\" to INSTALLED_APPS of the project's Django settings and run "
        "`python -m producer_django.manage migrate` on that database"
    )


def time_param(dialect: str, when: datetime):
    """`when` as Django stores a DateTimeField with USE_TZ: naive UTC text on SQLite."""
    if dialect == "postgresql":
        return when
    return str(when.astimezone(UTC).replace(tzinfo=None))


def traceparent(trace_id: str) -> str:
    """A fresh span (W3C traceparent) in the trace `trace_id`."""
    return f"00-{trace_id}-{secrets.token_hex(8)}-01"


def _trace_of(correlation_id: str) -> str:
    try:
        return uuid.UUID(correlation_id).hex
    except ValueError:
        return secrets.token_hex(16)


def _uuid_param(dialect: str, value: str):
    # Django stores UUIDs as 32 hex chars on SQLite and as uuid on PostgreSQL.
    return uuid.UUID(value) if dialect == "postgresql" else uuid.UUID(value).hex


def _sql(sql: str, paramstyle: str) -> str:
    return sql.replace("%s", "?") if paramstyle == "qmark" else sql
