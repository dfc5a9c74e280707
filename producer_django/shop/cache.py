"""Cached GET responses under the keys of docs/CONTRACTS.md (`product:<sku>`, `order:<id>`)."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import DatabaseError, transaction

logger = logging.getLogger(__name__)


def product_key(sku: str) -> str:
    return f"product:{sku}"


def order_key(order_id) -> str:
    return f"order:{order_id}"


def cached(key: str, build):
    """The cached value of `key`, else `build()` (None is not cached: it means 404)."""
    value = cache.get(key)
    if value is None:
        value = build()
        if value is not None:
            cache.set(key, value)
    return value


def forget_on_commit(*keys: str) -> None:
    # The cache-refresher worker also invalidates from CacheInvalidated; dropping our own keys
    # right after commit means this process never serves its own stale write.
    transaction.on_commit(lambda: _forget(list(keys)))


def _forget(keys: list[str]) -> None:
    try:
        cache.delete_many(keys)
    except DatabaseError as exc:
        # The write has committed; a cache hiccup must not turn it into an error response.
        logger.warning("could not drop cache keys %s: %s", keys, exc)
