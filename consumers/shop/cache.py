"""CacheInvalidated -> delete the keys from the shop's Django cache (schemas.config.SHOP_CACHE).

Deleting is idempotent, so the inbox only saves work on redelivery. The cache table is created
if the web app has not created it yet.
"""

from __future__ import annotations

import logging

from consumers import django_setup
from consumers.message import Event
from schemas.config import SHOP_CACHE

logger = logging.getLogger(__name__)


class CacheRefresher:
    name = "cache"
    topics = ("shop.cache",)
    transactional = False

    def __init__(self):
        self._cache = None

    def open(self, context) -> None:
        django_setup.configure(context.database)
        from django.core.cache.backends.db import DatabaseCache

        # Built from SHOP_CACHE itself, so it matches the web app's cache whatever else the
        # process has configured as its default cache.
        params = {k: v for k, v in SHOP_CACHE.items() if k not in ("BACKEND", "LOCATION")}
        self._cache = DatabaseCache(SHOP_CACHE["LOCATION"], params)
        create_cache_table(SHOP_CACHE["LOCATION"])

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
