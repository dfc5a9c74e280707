"""The project's outbox backlog, read-only: pending rows and the age of the oldest.

One query on the partial index of pending rows (`published_at IS NULL`); the console never
writes the project's database.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas import dburl, outbox

_SQL = f"SELECT count(*), min(created_at) FROM {outbox.OUTBOX_TABLE} WHERE published_at IS NULL"


@dataclass(frozen=True)
class Backlog:
    pending: int | None  # None: the database has no outbox (yet)
    oldest_age_s: float | None
    problem: str | None = None


def backlog(database_url: str, now: datetime | None = None) -> Backlog:
    target = dburl.target(database_url)
    try:
        if target.dialect == dburl.SQLITE:
            conn = sqlite3.connect(f"file:{target.location}?mode=ro", uri=True, timeout=5)
        else:
            import psycopg

            conn = psycopg.connect(target.location, connect_timeout=5, autocommit=True)
        try:
            cursor = conn.cursor()
            if not outbox.exists(cursor, target.dialect):
                return Backlog(None, None, "no outbox table in the project's database yet")
            cursor.execute(_SQL)
            count, oldest = cursor.fetchone()
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - shown on the page, never fatal for the console
        return Backlog(None, None, f"cannot read {dburl.redacted(database_url)}: {exc}")
    return Backlog(int(count), _age_s(oldest, now or datetime.now(UTC)))


def _age_s(created, now: datetime) -> float | None:
    if created is None:
        return None
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return max(0.0, (now - created).total_seconds())
