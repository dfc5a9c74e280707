"""Database URLs (`DATABASE_URL`), the one parser: SQLite and PostgreSQL.

- `target(url)`: the dialect and what a DB-API driver connects to (a file path, a libpq URL).
- `to_django(url)`: a Django `DATABASES` entry.
- `from_django(entry)`: the URL of a Django `DATABASES` entry (a worker finds the project's
  database this way).

    sqlite:///relative.db   sqlite:////absolute/path.db   postgres://user:pw@host:5432/name
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from schemas.errors import ConfigError

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")
_SQLITE_ENGINES = ("django.db.backends.sqlite3",)
_POSTGRES_ENGINES = (
    "django.db.backends.postgresql",
    "django.db.backends.postgresql_psycopg2",
    "django.contrib.gis.db.backends.postgis",
)
# Seconds a writer waits for SQLite's write lock: the web app, the relay and the workers share
# the file.
SQLITE_BUSY_TIMEOUT_S = 30
# WAL lets the web workers, the relay and other readers share the file; IMMEDIATE takes the
# write lock at BEGIN so two writers queue on the busy timeout instead of deadlocking.
SQLITE_OPTIONS = {
    "timeout": SQLITE_BUSY_TIMEOUT_S,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


@dataclass(frozen=True)
class Target:
    """`dialect` is "sqlite" or "postgresql"; `location` a file path or a libpq URL."""

    dialect: str
    location: str


def target(url: str) -> Target:
    if url.startswith(_SQLITE_PREFIX):
        return Target(SQLITE, url[len(_SQLITE_PREFIX):] or ":memory:")
    parts = urlsplit(url)
    if parts.scheme in _POSTGRES_SCHEMES:
        if not unquote(parts.path.lstrip("/")):
            raise ConfigError(f"DATABASE_URL {_redacted(parts)} names no database; add /<dbname>")
        return Target(POSTGRESQL, parts._replace(scheme="postgresql").geturl())
    raise ConfigError(
        f"DATABASE_URL {_redacted(parts)} is not supported: use sqlite:///<path> or "
        "postgres://user:password@host:port/dbname"
    )


def to_django(url: str) -> dict:
    found = target(url)
    if found.dialect == SQLITE:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": found.location,
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": dict(parse_qsl(parts.query)),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def from_django(entry: Mapping, alias: str = "default") -> str:
    """The URL of Django's `DATABASES[alias]` entry; ConfigError for what has no URL form."""
    engine = entry.get("ENGINE", "")
    name = str(entry.get("NAME") or "")
    if engine in _SQLITE_ENGINES:
        if not name or name == ":memory:" or name.startswith("file:"):
            raise ConfigError(
                f"DATABASES[{alias!r}] is an in-memory SQLite database, which no other process "
                "can share; give it a file NAME, or set DATABASE_URL (or --database)"
            )
        return _SQLITE_PREFIX + name
    if engine in _POSTGRES_ENGINES:
        user = quote(str(entry.get("USER") or ""), safe="")
        password = quote(str(entry.get("PASSWORD") or ""), safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = str(entry.get("HOST") or "")
        port = str(entry.get("PORT") or "")
        netloc = credentials + host + (f":{port}" if port else "")
        options = {k: v for k, v in (entry.get("OPTIONS") or {}).items()
                   if isinstance(v, str | int)}
        query = f"?{urlencode(options)}" if options else ""
        return f"postgresql://{netloc}/{quote(name, safe='')}{query}"
    raise ConfigError(
        f"DATABASES[{alias!r}] uses {engine or 'no ENGINE'}, which the workers cannot open; use "
        "SQLite or PostgreSQL, or set DATABASE_URL (or --database)"
    )


def redacted(url: str) -> str:
    """`url` without its password, for messages."""
    return _redacted(urlsplit(url))


def _redacted(parts) -> str:
    netloc = parts.netloc
    if parts.password:
        netloc = netloc.replace(":" + parts.password + "@", ":***@")
    return f"{parts.scheme}://{netloc}{parts.path}"
