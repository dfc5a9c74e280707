"""The outbox row, written once for every writer: Django's `publish` and a worker's follow-ups.

DB-API level, so it runs on a Django cursor and on a raw sqlite3/psycopg cursor alike: SQL is
written with `%s` placeholders and turned into `?` for the qmark paramstyle (raw sqlite3). The
tables are the `producer_django.events` app's (`events_outbox`, `events_aggregate_version`),
created by its migrations; the relay drains them.

Each insert takes (or creates) the aggregate's version row lock first and stamps the version
into the row and its payload; a concurrent writer of the same aggregate waits until the first
commits, so outbox ids of one aggregate are in version order. SQLite >= 3.35 and PostgreSQL.

An event that Kafka would refuse as too large is refused here instead (EventTooLarge), before
anything is written: the limit is the topic's `max.message.bytes` from the topic catalog (its
`config`, else the catalog's `[defaults] config`), else the broker default.
"""

from __future__ import annotations

import secrets
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from schemas import catalog
from schemas import project as projects
from schemas.errors import ConfigError, SerializationError
from schemas.serde import encoded_body_size

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


# Kafka's own default for a topic's max.message.bytes (broker `message.max.bytes`).
BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1048588
# What one record costs on the wire besides its key, value and headers: the record batch header
# (61 bytes) and the record's own varints and attributes, rounded up.
RECORD_OVERHEAD_BYTES = 128
# The Avro body of a record is at most this many times its JSON text, plus SLACK: the densest
# Avro against the sparsest JSON is a double in an array of unions ("[0.0]", 5 characters, is
# 1 + 1 + 8 + 1 bytes); the aggregate version is stamped after the JSON is written (up to 10
# bytes more). Below this bound no event needs encoding to know it fits.
_AVRO_PER_JSON_BYTE = 3
_AVRO_SLACK_BYTES = 32
_WIRE_HEADER_BYTES = 5
_REFUSE_NON_JSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class OutboxMissing(ConfigError):
    """The database has no outbox table to write follow-up events into."""


class EventTooLarge(SerializationError):
    """An event whose record would exceed its topic's max.message.bytes; nothing was written."""

    def __init__(self, event_type: str, topic: str, size: int, limit: int):
        self.topic, self.size, self.limit = topic, size, limit
        super().__init__(
            event_type,
            f"the encoded event is {size} bytes, over the {limit}-byte max.message.bytes of "
            f"topic {topic!r}, so Kafka would refuse it; nothing was written. Keep large data "
            "out of the event (store it and send a reference, e.g. a URL or an id), or raise "
            f"`config = {{ \"max.message.bytes\" = ... }}` of [topics.{topic!r}] in the topic "
            "catalog and run `pipeline topics apply`",
        )


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
    (`time_param`, or Django's `connection.ops.adapt_datetimefield_value`).
    EventTooLarge (before any write) when Kafka would refuse the event as too large."""
    payload = _json(row.record)
    check_size(row, payload)
    payload = payload.decode()
    head = [_uuid_param(dialect, row.event_id), row.event_type, row.topic, row.key,
            row.aggregate_type, row.aggregate_id]
    if dialect == "postgresql":
        cursor.execute(
            _sql(_PG_INSERT_SQL, paramstyle),
            [row.aggregate_type, row.aggregate_id, *head, payload, row.traceparent, now, now],
        )
        row.id, version = cursor.fetchone()
        row.record["aggregate_version"] = int(version)
        return
    cursor.execute(_sql(_NEXT_VERSION_SQL, paramstyle), [row.aggregate_type, row.aggregate_id])
    row.record["aggregate_version"] = int(cursor.fetchone()[0])
    cursor.execute(
        _sql(_INSERT_SQL, paramstyle),
        [*head, row.aggregate_version, _json(row.record).decode(), row.traceparent, now, now],
    )
    row.id = cursor.fetchone()[0]


def check_size(row: OutboxRow, payload_json: bytes | None = None) -> None:
    """EventTooLarge unless the record of `row` fits its topic's max.message.bytes.

    Encodes only an event whose JSON is large enough that the bound above cannot vouch for it.
    """
    limit = max_message_bytes(row.topic)
    framing = (RECORD_OVERHEAD_BYTES + _WIRE_HEADER_BYTES + len(row.key.encode())
               + headers_size(row.event_type, row.record, row.traceparent))
    if payload_json is None:
        payload_json = _json(row.record)
    if framing + _AVRO_PER_JSON_BYTE * len(payload_json) + _AVRO_SLACK_BYTES <= limit:
        return
    # The largest version varint, so a later version cannot push a fitting event over.
    body = encoded_body_size(row.event_type, {**row.record, "aggregate_version": 2**62})
    if framing + body > limit:
        raise EventTooLarge(row.event_type, row.topic, framing + body, limit)


def record_size(key: bytes | None, value: bytes, headers) -> int:
    """What Kafka counts against max.message.bytes for one record (rounded up)."""
    return (RECORD_OVERHEAD_BYTES + len(key or b"") + len(value)
            + sum(len(k) + len(v) for k, v in headers or ()))


def headers_size(event_type: str, record: Mapping[str, Any], traceparent: str) -> int:
    # The header names and values serde.event_headers writes, plus room for their varints.
    names = len(catalog.HEADER_EVENT_TYPE) + len(catalog.HEADER_EVENT_ID) + len(
        catalog.HEADER_CORRELATION_ID) + len(catalog.HEADER_TRACEPARENT)
    values = (len(event_type.encode()) + len(str(record.get("event_id", "")).encode())
              + len(str(record.get("correlation_id", "")).encode()) + len(traceparent.encode()))
    return names + values + 16


def max_message_bytes(topic: str) -> int:
    """The topic's max.message.bytes as the project's topic catalog sets it, else the broker
    default."""
    return _limits(projects.current().topics).get(topic) or _default_limit(
        projects.current().topics)


def largest_max_message_bytes() -> int:
    """The largest limit of any catalog topic (for a producer's own size check)."""
    topics_file = projects.current().topics
    return max([_default_limit(topics_file), *_limits(topics_file).values()])


@cache
def _limits(topics_file: Path) -> dict[str, int]:
    data = _catalog_toml(topics_file)
    limits = {}
    for topic, entry in data.get("topics", {}).items():
        value = (entry.get("config") or {}).get("max.message.bytes") if isinstance(
            entry, dict) else None
        if value is not None:
            limits[topic] = _as_limit(value, topics_file, topic)
    return limits


@cache
def _default_limit(topics_file: Path) -> int:
    value = (_catalog_toml(topics_file).get("defaults", {}).get("config") or {}).get(
        "max.message.bytes")
    if value is None:
        return BROKER_DEFAULT_MAX_MESSAGE_BYTES
    return _as_limit(value, topics_file, "[defaults]")


def _catalog_toml(topics_file: Path) -> dict:
    try:
        with open(topics_file, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{topics_file}: cannot read the topic catalog ({exc})") from None


def _as_limit(value, topics_file: Path, where: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{topics_file.name}: {where}: max.message.bytes must be a number of bytes, "
            f"got {value!r}"
        ) from None


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


def _json(record: Mapping[str, Any]) -> bytes:
    # orjson: the JSON of json.dumps, without its spaces and in UTF-8 rather than \u escapes,
    # in a tenth of the time. Like json.dumps it refuses datetimes and dataclasses: stored as
    # text, they would fail only later, in the relay's encoder.
    return orjson.dumps(record, option=_REFUSE_NON_JSON)


def _sql(sql: str, paramstyle: str) -> str:
    return sql.replace("%s", "?") if paramstyle == "qmark" else sql
