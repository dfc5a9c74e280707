"""The transactional inbox: which events a consumer group has already applied.

For a database effect, `claim(tx, ...)` inserts the event id in the transaction that carries
the effect: both commit or neither does, and a redelivered event finds its id and is skipped.
For an effect no transaction covers (SMTP), `seen` is checked before and `record` commits the
id right after the effect is accepted.
"""

from __future__ import annotations

import orjson

from consumers.db import Database, Transaction

TABLE = "consumer_inbox"

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    consumer_group VARCHAR(200) NOT NULL,
    event_id VARCHAR(64) NOT NULL,
    event_type VARCHAR(200) NOT NULL,
    processed_at_ms BIGINT NOT NULL,
    PRIMARY KEY (consumer_group, event_id)
)"""

_INSERT = (
    f"INSERT INTO {TABLE} (consumer_group, event_id, event_type, processed_at_ms) "
    "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
)
# PostgreSQL: a whole batch in one statement, its rows as one JSON array parameter.
# executemany sends one INSERT per row, which made the PostgreSQL inbox the worker's largest
# cost; array parameters cost psycopg a quoting check per element (cProfile).
_INSERT_JSON_ROWS = (
    f"INSERT INTO {TABLE} (consumer_group, event_id, event_type, processed_at_ms) "
    "SELECT %s, r->>0, r->>1, (r->>2)::bigint FROM json_array_elements(%s::json) AS r "
    "ON CONFLICT DO NOTHING"
)


class Inbox:
    def __init__(self, database: Database, consumer_group: str):
        self.database = database
        self.group = consumer_group

    def create(self) -> None:
        # SQLite: the primary key is the table (no separate rowid b-tree to maintain).
        ddl = _CREATE + (" WITHOUT ROWID" if self.database.dialect == "sqlite" else "")
        self.database.create_schema([ddl])

    def claim(self, tx: Transaction, event_id: str, event_type: str, now_ms: int) -> bool:
        """Record the event inside `tx`; False if this group already applied it."""
        return tx.execute(_INSERT, (self.group, event_id, event_type, now_ms)) == 1

    def already_applied(self, tx: Transaction, event_ids: list[str]) -> set[str]:
        """Which of `event_ids` this group has applied (one query per 500 ids)."""
        found: set[str] = set()
        for i in range(0, len(event_ids), 500):
            chunk = event_ids[i:i + 500]
            rows = tx.fetchall(
                f"SELECT event_id FROM {TABLE} WHERE consumer_group = %s AND event_id IN "
                f"({', '.join(['%s'] * len(chunk))})",
                [self.group, *chunk],
            )
            found.update(r[0] for r in rows)
        return found

    def claim_many(self, tx: Transaction, claims: list[tuple[str, str, int]]) -> int:
        """Record (event_id, event_type, now_ms) rows inside `tx`; returns how many were new."""
        if not claims:
            return 0
        # In key order: the inserts then walk the primary-key b-tree once, left to right.
        claims = sorted(claims)
        if tx.dialect == "postgresql":
            return tx.execute(_INSERT_JSON_ROWS, (self.group, orjson.dumps(claims).decode()))
        return tx.executemany(_INSERT, [(self.group, *c) for c in claims])

    def seen(self, event_id: str) -> bool:
        rows = self.database.fetchall(
            f"SELECT 1 FROM {TABLE} WHERE consumer_group = %s AND event_id = %s",
            (self.group, event_id),
        )
        return bool(rows)

    def record(self, event_id: str, event_type: str, now_ms: int) -> None:
        """Commit the event id at once (used right after a non-transactional effect)."""
        with self.database.transaction() as tx:
            self.claim(tx, event_id, event_type, now_ms)

    def count(self) -> int:
        rows = self.database.fetchall(
            f"SELECT COUNT(*) FROM {TABLE} WHERE consumer_group = %s", (self.group,)
        )
        return int(rows[0][0])


class NoInbox:
    """The inbox of a handler with `claims_inbox = True`, which keeps its own record of what it
    handled (in its effect's transaction, or by its tables' keys): claims everything, records
    nothing."""

    def claim(self, tx, event_id: str, event_type: str, now_ms: int) -> bool:
        return True

    def claim_many(self, tx, claims: list) -> int:
        return len(claims)

    def already_applied(self, tx, event_ids: list[str]) -> set[str]:
        return set()

    def seen(self, event_id: str) -> bool:
        return False

    def record(self, event_id: str, event_type: str, now_ms: int) -> None:
        """Nothing to record."""
