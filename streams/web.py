"""Web views shared by the apps: readiness, and queries answered by the worker owning a key."""

from __future__ import annotations

import logging

import aiohttp
from faust.exceptions import SameNode

logger = logging.getLogger(__name__)


def ready(app) -> bool:
    """The worker has its partitions and has restored its tables from their changelogs."""
    return app.tables.recovery.completed.is_set() and not app.rebalancing


def add_health(app) -> None:
    """GET /health: 200 once `ready`, else 503; the body names the app and what it consumes."""
    @app.page("/health")
    async def health(web, request):
        body = {
            "app_id": app.conf.id, "ready": ready(app), "rebalancing": bool(app.rebalancing),
            # Topics whose offsets the app commits: what `pipeline rebuild` waits on.
            "consumes": sorted(app.topics.acking_topics),
        }
        return web.json(body, status=200 if body["ready"] else 503)


def add_keyed_view(app, path: str, table, param: str, answer) -> None:
    """GET `path` answered by `answer(web, key)` on the worker that owns the key in `table`.

    Like faust's `table_route`, but a request that arrives while ownership is unknown (the
    worker is starting or rebalancing) gets a 503 naming the cause instead of a 500.
    """

    @app.page(path, name=f"{table.name}-by-{param}")
    async def view(web, request, **kwargs):
        key = request.match_info[param]
        try:
            return await app.router.route_req(table.name, key, web, request)
        except SameNode:
            return await answer(web, key)
        except (KeyError, TypeError) as exc:
            # The producer has no metadata for the changelog topic yet.
            logger.info("no owner known for %s %r yet: %r", table.name, key, exc)
        except (aiohttp.ClientError, OSError) as exc:
            logger.info("owner of %s %r did not answer: %r", table.name, key, exc)
        return web.json(
            {"error": f"no worker owns {key!r} right now (starting or rebalancing); try again"},
            status=503,
        )
