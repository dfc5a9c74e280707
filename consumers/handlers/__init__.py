"""The workers' handlers, by worker name (`pipeline worker <name>`)."""

from __future__ import annotations

from schemas.errors import PipelineError

WORKERS = ("notifications", "search", "cache")


class UnknownWorker(PipelineError):
    """No handler has this worker name."""


def make_handler(name: str):
    if name == "notifications":
        from consumers.handlers.notifications import NotificationSender

        return NotificationSender()
    if name == "search":
        from consumers.handlers.search import SearchIndexer

        return SearchIndexer()
    if name == "cache":
        from consumers.handlers.cache import CacheRefresher

        return CacheRefresher()
    raise UnknownWorker(f"no worker named {name!r}; known workers: {', '.join(WORKERS)}")
