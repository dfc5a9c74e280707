"""The project's database as the workers see it: SQLite or PostgreSQL (a `schemas.dburl` URL).

SQL is written once with `%s` placeholders; `Transaction.execute` adapts it for SQLite.
SQLite runs in WAL mode with a busy timeout, because the web app and several workers write to
the same file. A transactional handler's follow-up events (`Transaction.publish`) go into the
project's outbox in the same transaction (`consumers.followups`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas import dburl, outbox
from schemas.errors import PipelineError

if TYPE_CHECKING:
    from consumers.followups import FollowUps
    from consumers.message import Event

BUSY_TIMEOUT_S = float(dburl.SQLITE_BUSY_TIMEOUT_S)
# The PostgreSQL advisory lock that schema creators take (any fixed number; this one spells
# "pipeline" in ASCII).
_SCHEMA_LOCK_KEY = 0x706970656C696E65


class NotHandling(PipelineError):
    """`Transaction.publish` was called outside a handler's `handle`."""


class Transaction:
    """A cursor inside an open transaction; savepoints isolate one record's effect."""

    def __init__(self, conn, dialect: str, database: Database | None = None):
        self._conn = conn
        self.dialect = dialect
        self._database = database
        self._cursor = conn.cursor()
        self._cause: tuple[Event, str] | None = None
        self._followups: FollowUps | None = None

    @property
    def cursor(self):
        """The DB-API cursor (paramstyle `paramstyle`), for code written at that level."""
        return self._cursor

    @property
    def paramstyle(self) -> str:
        return "qmark" if self.dialect == "sqlite" else "format"

    def handling(self, event: Event | None, producer: str = "") -> None:
        """From now on `publish` writes follow-ups caused by `event` (None: no event). Set by
        the runtime before each `handle` call; cheap, since most handlers publish nothing."""
        self._cause = (event, producer) if event is not None else None
        self._followups = None

    @property
    def followups(self) -> FollowUps | None:
        """The follow-ups published for the current event so far (None if none)."""
        return self._followups

    def publish(self, event_type: str, data: dict[str, Any], *,
                aggregate_id: str | None = None) -> str:
        """Add a follow-up event of the handled event to the outbox, in this transaction (it
        commits with the inbox row, and the relay ships it); returns its event id.

        The id is derived from the handled event's id, so a redelivery yields the same one;
        `causation_id` is the handled event, `correlation_id` is carried over. Raises
        SerializationError naming the field if `data` does not match the event's schema, and
        OutboxMissing (naming the fix) if the database has no outbox table.
        """
        if self._cause is None:
            raise NotHandling(
                "tx.publish() publishes follow-ups of the event being handled; call it from "
                "your handler's handle(event, tx)"
            )
        if self._followups is None:
            from consumers.followups import FollowUps

            self._followups = FollowUps(self, *self._cause)
        return self._followups.publish(event_type, data, aggregate_id=aggregate_id).event_id

    def require_outbox(self) -> None:
        """OutboxMissing (naming the fix) unless the database has the outbox table."""
        database = self._database
        if database is not None and database.has_outbox:
            return
        if not outbox.exists(self._cursor, self.dialect):
            raise outbox.missing(database.describe() if database else "the worker's database")
        if database is not None:
            database.has_outbox = True

    def execute(self, sql: str, params: tuple | list = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        if self.dialect == "sqlite":
            sql = sql.replace("%s", "?")
        self._cursor.execute(sql, params)
        return self._cursor.rowcount

    def executemany(self, sql: str, rows: list) -> int:
        """Run one statement per row; returns the total number of rows changed."""
        if self.dialect == "sqlite":
            sql = sql.replace("%s", "?")
        self._cursor.executemany(sql, rows)
        return self._cursor.rowcount

    def fetchall(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        self.execute(sql, params)
        return self._cursor.fetchall()

    @contextmanager
    def savepoint(self, name: str = "record") -> Iterator[None]:
        self._cursor.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._cursor.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self._cursor.execute(f"RELEASE SAVEPOINT {name}")
            raise
        self._cursor.execute(f"RELEASE SAVEPOINT {name}")


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch a new file to WAL. Two connections switching at once (e.g. two workers of one
    process opening a fresh file) get "database is locked" at once, without the busy
    timeout's wait, so wait here."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Database:
    """One connection, used by one worker thread."""

    def __init__(self, url: str):
        self.url = url
        target = dburl.target(url)
        self.dialect, self._target = target.dialect, target.location
        self._conn = None
        # Learnt on the first follow-up event (the table does not go away while we run).
        self.has_outbox = False

    def describe(self) -> str:
        """The database without its password, for messages."""
        return self._target if self.dialect == "sqlite" else dburl.redacted(self.url)

    def connect(self) -> None:
        if self._conn is not None:
            return
        if self.dialect == "sqlite":
            Path(self._target).parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE, so the
            # write lock is taken up front instead of failing on upgrade.
            conn = sqlite3.connect(self._target, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            _use_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
        else:
            import psycopg

            conn = psycopg.connect(self._target, autocommit=True, connect_timeout=5)
        self._conn = conn

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        self.connect()
        begin = "BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN"
        self._conn.execute(begin)
        tx = Transaction(self._conn, self.dialect, self)
        try:
            yield tx
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def create_schema(self, statements: Sequence[str]) -> None:
        """Run `CREATE ... IF NOT EXISTS` statements in one transaction. On PostgreSQL two
        processes starting at once would both find a table missing and one fail on the
        catalog's unique index, so creators take a lock first and go one after the other."""
        with self.transaction() as tx:
            if self.dialect != "sqlite":
                tx.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
            for statement in statements:
                tx.execute(statement)

    def fetchall(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """A read outside any transaction."""
        self.connect()
        if self.dialect == "sqlite":
            sql = sql.replace("%s", "?")
        return list(self._conn.execute(sql, params).fetchall())

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def django_database(self) -> dict:
        """The same database as a Django DATABASES entry."""
        return dburl.to_django(self.url)
