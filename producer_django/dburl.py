"""DATABASE_URL -> a Django DATABASES entry (SQLite and PostgreSQL); parsed by `schemas.dburl`."""

from __future__ import annotations

from schemas.dburl import SQLITE_OPTIONS, to_django

__all__ = ["SQLITE_OPTIONS", "database_config"]


def database_config(url: str) -> dict:
    return to_django(url)
