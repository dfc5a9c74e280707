"""DATABASE_URL -> a Django DATABASES entry (SQLite and PostgreSQL)."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

from schemas.errors import ConfigError

# WAL lets the web workers, the relay and other readers share the file; IMMEDIATE takes the
# write lock at BEGIN so two writers queue on the busy timeout instead of deadlocking.
SQLITE_OPTIONS = {
    "timeout": 30,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


def database_config(url: str) -> dict:
    if url.startswith("sqlite:///"):
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": url[len("sqlite:///"):] or ":memory:",
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ConfigError(f"DATABASE_URL {_redacted(parts)} names no database; add /<dbname>")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": dict(parse_qsl(parts.query)),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ConfigError(
        f"DATABASE_URL {_redacted(parts)} is not supported: use sqlite:///<path> or "
        "postgres://user:password@host:port/dbname"
    )


def _redacted(parts) -> str:
    netloc = parts.netloc
    if parts.password:
        netloc = netloc.replace(":" + parts.password + "@", ":***@")
    return f"{parts.scheme}://{netloc}{parts.path}"
