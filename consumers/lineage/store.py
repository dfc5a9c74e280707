"""The lineage tables in the project's database (SQLite or PostgreSQL; docs/CONTRACTS.md).

    pipeline_lineage          one row per event id (the first offset seen is kept)
    pipeline_lineage_effects  dead letters and retries per event and consumer group

Handled effects are not copied: they are the workers' inbox rows (`consumer_inbox`), read at
query time.

Where (`lineage_url`): on PostgreSQL, the project's database. On SQLite, a file beside it
(`<name>.lineage.sqlite3`): SQLite has one write lock per file, and the indexer sharing it with
the web app and the workers cut the workers' throughput to 0.5-0.7 in bench_lineage (a file
of its own: 0.83-1.0 on the same loaded machine).

The position columns are `kafka_partition` / `kafka_offset`: OFFSET is reserved in PostgreSQL.

Bounds (`LineageSettings`): `prune` deletes at most `prune_batch` rows older than the cutoff,
found through the timestamp index; the indexer calls it every few seconds, never per insert.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from consumers.db import Database, Transaction
from consumers.lineage.settings import LineageSettings
from schemas import dburl

EVENTS = "pipeline_lineage"
EFFECTS = "pipeline_lineage_effects"
EVENT_COLUMNS = (
    "event_id", "event_type", "topic", "kafka_partition", "kafka_offset", "timestamp_ms",
    "aggregate_id", "correlation_id", "causation_id", "producer",
)
EFFECT_COLUMNS = ("event_id", "group_name", "outcome", "at_ms", "detail")

DONE = "done"
RETRIED = "retried"
DEAD_LETTERED = "dead-lettered"

_CREATE = (
    f"""CREATE TABLE IF NOT EXISTS {EVENTS} (
    event_id VARCHAR(64) NOT NULL PRIMARY KEY,
    event_type VARCHAR(200) NOT NULL,
    topic VARCHAR(255) NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    aggregate_id VARCHAR(255),
    correlation_id VARCHAR(64),
    causation_id VARCHAR(64),
    producer VARCHAR(200)
)""",
    f"""CREATE TABLE IF NOT EXISTS {EFFECTS} (
    event_id VARCHAR(64) NOT NULL,
    group_name VARCHAR(200) NOT NULL,
    outcome VARCHAR(32) NOT NULL,
    at_ms BIGINT NOT NULL,
    detail TEXT,
    PRIMARY KEY (event_id, group_name, outcome, at_ms)
)""",
)
_INDEXES = (
    f"CREATE INDEX IF NOT EXISTS {EVENTS}_correlation ON {EVENTS} (correlation_id)",
    f"CREATE INDEX IF NOT EXISTS {EVENTS}_causation ON {EVENTS} (causation_id)",
    f"CREATE INDEX IF NOT EXISTS {EVENTS}_aggregate ON {EVENTS} (aggregate_id)",
    f"CREATE INDEX IF NOT EXISTS {EVENTS}_time ON {EVENTS} (timestamp_ms)",
    f"CREATE INDEX IF NOT EXISTS {EFFECTS}_time ON {EFFECTS} (at_ms)",
)
_INSERT_EVENT = (
    f"INSERT INTO {EVENTS} ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(EVENT_COLUMNS))}) ON CONFLICT DO NOTHING"
)
_INSERT_EFFECT = (
    f"INSERT INTO {EFFECTS} ({', '.join(EFFECT_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(EFFECT_COLUMNS))}) ON CONFLICT DO NOTHING"
)


@dataclass(frozen=True)
class Pruned:
    events: int
    effects: int
    # The prune stopped at its batch limit: more rows are due now.
    more: bool = False


def lineage_url(database_url: str) -> str:
    """The database of the lineage tables for the workers' database `database_url`."""
    found = dburl.target(database_url)
    if found.dialect != "sqlite":
        return database_url
    path = Path(found.location)
    return f"sqlite:///{path.with_name(path.stem + '.lineage' + (path.suffix or '.sqlite3'))}"


def create(database: Database) -> None:
    """Create the tables and indexes if missing (idempotent)."""
    # SQLite: the primary key is the table (no separate rowid b-tree to maintain).
    suffix = " WITHOUT ROWID" if database.dialect == "sqlite" else ""
    database.create_schema([ddl + suffix for ddl in _CREATE] + list(_INDEXES))


def exists(database: Database, table: str = EVENTS) -> bool:
    """True if `table` (by default the lineage table) is in the database."""
    if database.dialect == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s"
    else:
        sql = "SELECT 1 FROM information_schema.tables WHERE table_name = %s"
    return bool(database.fetchall(sql, (table,)))


def insert_event(tx: Transaction, row: tuple) -> bool:
    """One `EVENT_COLUMNS` row; False if the event id is already indexed."""
    return tx.execute(_INSERT_EVENT, row) == 1


def insert_effect(tx: Transaction, row: tuple) -> bool:
    """One `EFFECT_COLUMNS` row; False if that effect is already recorded."""
    return tx.execute(_INSERT_EFFECT, row) == 1


def prune(tx: Transaction, settings: LineageSettings, now_ms: int) -> Pruned:
    """Delete up to `settings.prune_batch` events (and their effects' peers by age) older than
    `max_days`, or beyond the newest `max_rows`, oldest first, through the timestamp index."""
    cutoff = now_ms - settings.max_age_ms
    # The timestamp of the newest row past the bound: a walk of max_rows index entries.
    rows = tx.fetchall(
        f"SELECT timestamp_ms FROM {EVENTS} ORDER BY timestamp_ms DESC LIMIT 1 OFFSET %s",
        (settings.max_rows,),
    )
    if rows:
        cutoff = max(cutoff, int(rows[0][0]) + 1)
    limit = settings.prune_batch
    events = tx.execute(
        f"DELETE FROM {EVENTS} WHERE event_id IN (SELECT event_id FROM {EVENTS} "
        f"WHERE timestamp_ms < %s ORDER BY timestamp_ms LIMIT %s)",
        (cutoff, limit),
    )
    effects = tx.execute(
        f"DELETE FROM {EFFECTS} WHERE at_ms < %s AND event_id IN (SELECT event_id FROM "
        f"{EFFECTS} WHERE at_ms < %s ORDER BY at_ms LIMIT %s)",
        (cutoff, cutoff, limit),
    )
    return Pruned(max(events, 0), max(effects, 0), events >= limit or effects >= limit)


def count(database: Database) -> int:
    return int(database.fetchall(f"SELECT COUNT(*) FROM {EVENTS}")[0][0])
