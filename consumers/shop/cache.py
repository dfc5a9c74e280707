"""CacheInvalidated -> delete the keys from the shop's Django cache (its `CACHES`).

The worker runs with the shop's Django settings, so `caches[alias]` is the very cache the web
app fills (a database table shared by both processes). Deleting is idempotent, so the inbox
only saves work on redelivery. A database cache's table is created if the web app has not
created it yet.

Options: `cache_alias` (default "default").
"""

from __future__ import annotations

import logging

from consumers.message import Event

logger = logging.getLogger(__name__)


class CacheRefresher:
    name = "cache"
    topics = ("shop.cache",)
    transactional = False

    def __init__(self, *, cache_alias: str = "default"):
        self.cache_alias = cache_alias
        self._cache = None

    def open(self, context) -> None:
        from django.conf import settings
        from django.core.cache import caches

        self._cache = caches[self.cache_alias]
        entry = settings.CACHES[self.cache_alias]
        if entry["BACKEND"].endswith("db.DatabaseCache"):
            create_cache_table(entry["LOCATION"])

    def handle(self, event: Event, tx=None) -> None:
        if event.event_type != "CacheInvalidated":
            logger.debug("ignoring %s", event.event_type)
            return
        from django.db import close_old_connections

        try:
            self._cache.delete_many(list(event.data["keys"]))
        except Exception:
            # Drop a broken database connection so the retry reconnects.
            close_old_connections()
            raise

    def close(self) -> None:
        if self._cache is not None:
            from django.db import connections

            connections.close_all()


def create_cache_table(table: str) -> None:
    from django.db import DatabaseError, connection
    from django.db.backends.utils import truncate_name

    if table in connection.introspection.table_names():
        return
    from django.core.management.commands.createcachetable import Command

    command = Command()
    command.verbosity = 0
    try:
        command.create_table("default", table, dry_run=False)
    except DatabaseError:
        # The web app may have created it concurrently; anything else is still an error.
        if truncate_name(table) not in connection.introspection.table_names():
            raise
