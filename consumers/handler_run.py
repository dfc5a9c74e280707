"""Running a handler against given events without a broker (`consumers.testing.run_handler`).

Each event goes the way the runtime takes it: the dict (with its "event_type") is checked
against the event's schema and Avro-encoded and decoded, so the handler sees exactly the data
a worker would; a transactional handler gets a `Transaction` with the inbox claim (and may
`tx.publish` follow-ups); a non-transactional one is skipped for an id already recorded.
Failures are collected, not raised, as the runtime would route them.
"""

from __future__ import annotations

import io
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from consumers import django_setup
from consumers.db import Database
from consumers.inbox import Inbox
from consumers.message import Event, Record
from consumers.options import WorkerOptions
from schemas import catalog
from schemas import project as projects
from schemas.errors import ConfigError
from schemas.ids import new_event_id
from schemas.serde import EventSerializer, event_headers

# What `migrate` creates for `producer_django.events` on SQLite (its migration 0001, without
# the relay's indexes): a fresh test database gets it so follow-ups can be published.
_SQLITE_OUTBOX_DDL = (
    'CREATE TABLE IF NOT EXISTS "events_aggregate_version" ("id" integer NOT NULL PRIMARY KEY '
    'AUTOINCREMENT, "aggregate_type" varchar(100) NOT NULL, "aggregate_id" varchar(255) NOT '
    'NULL, "version" bigint NOT NULL, CONSTRAINT "events_aggregate_version_unique" UNIQUE '
    '("aggregate_type", "aggregate_id"))',
    'CREATE TABLE IF NOT EXISTS "events_outbox" ("id" integer NOT NULL PRIMARY KEY '
    'AUTOINCREMENT, "event_id" char(32) NOT NULL, "event_type" varchar(100) NOT NULL, "topic" '
    'varchar(249) NOT NULL, "key" varchar(255) NOT NULL, "aggregate_type" varchar(100) NOT '
    'NULL, "aggregate_id" varchar(255) NOT NULL, "aggregate_version" bigint NOT NULL, '
    '"payload" text NOT NULL CHECK ((JSON_VALID("payload") OR "payload" IS NULL)), '
    '"traceparent" varchar(55) NOT NULL, "created_at" datetime NOT NULL, "available_at" '
    'datetime NOT NULL, "published_at" datetime NULL, "attempts" integer unsigned NOT NULL '
    'CHECK ("attempts" >= 0), "last_error" text NOT NULL)',
)


@dataclass(frozen=True)
class Failure:
    event_id: str
    event_type: str
    error: BaseException


@dataclass
class HandlerRun:
    """What `run_handler` saw: event ids handled, skipped as duplicates, failed; the follow-up
    events published (each the full record plus its "event_type", in order)."""

    database_url: str
    group: str
    handled: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    published: list[dict[str, Any]] = field(default_factory=list)


class _Context:
    def __init__(self, name: str, database: Database):
        self.name = name
        self.options = WorkerOptions()
        self.database = database


def run_handler(handler, events: Iterable[Mapping[str, Any]], *,
                database_url: str | None = None) -> HandlerRun:
    """Open `handler`, hand it each event (a dict with "event_type" and the record's fields;
    metadata fields left out are filled in), close it. The database defaults to a fresh
    temporary SQLite file with the inbox and outbox tables."""
    url = database_url or _temporary_database()
    project = projects.current()
    if project.django_settings:
        django_setup.use_project_settings(project)
    else:
        django_setup.configure_standalone(url)
    name = getattr(handler, "name", type(handler).__name__)
    run = HandlerRun(url, f"worker-{name}")
    database = Database(url)
    database.connect()
    try:
        inbox = Inbox(database, run.group)
        inbox.create()
        if database_url is None:
            create_sqlite_outbox(database)
        built = [_event(dict(given), offset) for offset, given in enumerate(events)]
        handler.open(_Context(name, database))
        try:
            for event in built:
                _apply(handler, event, database, inbox, run)
        finally:
            handler.close()
    finally:
        database.close()
    return run


def create_sqlite_outbox(database: Database) -> None:
    """The outbox tables in a SQLite test database (a real project runs `migrate`)."""
    database.create_schema(_SQLITE_OUTBOX_DDL)


def _apply(handler, event: Event, database: Database, inbox: Inbox, run: HandlerRun) -> None:
    now_ms = int(time.time() * 1000)
    try:
        if handler.transactional:
            with database.transaction() as tx:
                if not inbox.claim(tx, event.event_id, event.event_type, now_ms):
                    run.duplicates.append(event.event_id)
                    return
                tx.handling(event, run.group)
                handler.handle(event, tx)
                rows = tx.followups.rows if tx.followups else []
        else:
            if inbox.seen(event.event_id):
                run.duplicates.append(event.event_id)
                return
            handler.handle(event, None)
            inbox.record(event.event_id, event.event_type, now_ms)
            rows = []
    except Exception as exc:
        run.failures.append(Failure(event.event_id, event.event_type, exc))
        return
    run.handled.append(event.event_id)
    run.published.extend({"event_type": r.event_type, **r.record} for r in rows)


def _event(given: dict[str, Any], offset: int) -> Event:
    """The Event a worker would hand over for `given`: validated, through Avro and back."""
    event_type = given.pop("event_type", None)
    if not event_type:
        raise ConfigError(
            f"event {offset} has no 'event_type'; give each event dict its event's name, "
            "e.g. {'event_type': 'InvoiceIssued', ...}"
        )
    spec = catalog.event_type(event_type)
    record = {**_metadata(given.get(spec.key_field)), **given}
    EventSerializer(None).validate(event_type, record)
    buffer = io.BytesIO()
    schemaless_writer(buffer, _schema(spec), record)
    buffer.seek(0)
    data = schemaless_reader(buffer, _schema(spec))
    message = Record(
        spec.topic, None, key_=str(data.get(spec.key_field, data["aggregate_id"])).encode(),
        offset_=offset, headers_=event_headers(event_type, data),
    )
    return Event(event_type, data, message)


def _metadata(key: Any) -> dict[str, Any]:
    return {
        "event_id": new_event_id(),
        "occurred_at": datetime.now(UTC),
        "aggregate_id": str(key if key is not None else "test"),
        "aggregate_version": 1,
        "correlation_id": str(uuid.uuid4()),
        "causation_id": None,
        "producer": "tests",
    }


@cache
def _schema(spec: catalog.EventType):
    return parse_schema(spec.schema_dict())


def _temporary_database() -> str:
    folder = Path(tempfile.mkdtemp(prefix="run-handler-"))
    return f"sqlite:///{folder / 'handler.sqlite3'}"
