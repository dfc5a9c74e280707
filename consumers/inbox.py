"""The transactional inbox: which events a consumer group has already applied.

For a database effect, `claim(tx, ...)` inserts the event id in the transaction that carries
the effect: both commit or neither does, and a redelivered event finds its id and is skipped.
For an effect no transaction covers (SMTP), `seen` is checked before and `record` commits the
id right after the effect is accepted.
"""

from __future__ import annotations

from consumers.db import Database, Transaction

TABLE = "consumer_inbox"

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    consumer_group VARCHAR(200) NOT NULL,
    event_id VARCHAR(64) NOT NULL,
    event_type VARCHAR(200) NOT NULL,
    processed_at_ms BIGINT NOT NULL,
    PRIMARY KEY (consumer_group, event_id)
)
"""

_INSERT = (
    f"INSERT INTO {TABLE} (consumer_group, event_id, event_type, processed_at_ms) "
    "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
)


class Inbox:
    def __init__(self, database: Database, consumer_group: str):
        self.database = database
        self.group = consumer_group

    def create(self) -> None:
        with self.database.transaction() as tx:
            tx.execute(_CREATE)

    def claim(self, tx: Transaction, event_id: str, event_type: str, now_ms: int) -> bool:
        """Record the event inside `tx`; False if this group already applied it."""
        return tx.execute(_INSERT, (self.group, event_id, event_type, now_ms)) == 1

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
