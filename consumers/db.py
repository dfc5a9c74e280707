"""The shop database as the workers see it: SQLite (default) or PostgreSQL (DATABASE_URL).

SQL is written once with `%s` placeholders; `Transaction.execute` adapts it for SQLite.
SQLite runs in WAL mode with a busy timeout, because the web app and several workers write to
the same file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

from schemas.errors import ConfigError

BUSY_TIMEOUT_S = 30.0


class Transaction:
    """A cursor inside an open transaction; savepoints isolate one record's effect."""

    def __init__(self, conn, dialect: str):
        self._conn = conn
        self.dialect = dialect
        self._cursor = conn.cursor()

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


class Database:
    """One connection, used by one worker thread."""

    def __init__(self, url: str):
        self.url = url
        self.dialect, self._target = _parse(url)
        self._conn = None

    def connect(self) -> None:
        if self._conn is not None:
            return
        if self.dialect == "sqlite":
            Path(self._target).parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE, so the
            # write lock is taken up front instead of failing on upgrade.
            conn = sqlite3.connect(self._target, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
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
        tx = Transaction(self._conn, self.dialect)
        try:
            yield tx
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

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
        """The same database as a Django DATABASES entry (for the shop cache)."""
        if self.dialect == "sqlite":
            return {"ENGINE": "django.db.backends.sqlite3", "NAME": self._target,
                    "OPTIONS": {"timeout": BUSY_TIMEOUT_S}}
        parts = urlparse(self.url)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parts.path.lstrip("/"),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
        }


def _parse(url: str) -> tuple[str, str]:
    if url.startswith("sqlite:///"):
        # sqlite:///relative.db or sqlite:////absolute/path.db
        return "sqlite", url[len("sqlite:///"):]
    scheme = url.split(":", 1)[0]
    if scheme in ("postgres", "postgresql"):
        return "postgresql", "postgresql:" + url.split(":", 1)[1]
    raise ConfigError(
        f"DATABASE_URL {scheme}://... is not supported; use sqlite:///<path> or "
        "postgresql://user:password@host:port/name"
    )
