"""A stream app of a project that is not the shop: page views counted per page, in a table.

Built only from the toolkit a user's app imports (streams.base, streams.settings,
streams.dedupe, streams.web); streams/README.md shows the same app. test_streams_own_app.py
copies this file into a throwaway project that declares it as `views = "page_views_app:app"`.
"""

from __future__ import annotations

import faust

from streams.base import Context, make_app
from streams.dedupe import already_applied, remember
from streams.settings import from_env
from streams.web import add_health, add_keyed_view


def build() -> faust.App:
    settings = from_env("views")  # STREAMS_* variables; STREAMS_APP names the declared app
    app = make_app(settings)
    ctx = Context(app, settings)
    views = app.Table("views", partitions=3, key_type=str)

    @app.agent(ctx.source("site.pageviews"), name="count-views")
    async def count(stream):
        async for event in stream.events():  # event.value: a decoded streams.codec.Event
            page = event.value.record["page"]
            source = f"{event.message.topic}:{event.message.partition}"
            state = views.get(page) or {"views": 0, "applied": {}}
            # At-least-once: after a crash faust hands records over again; count each once.
            if already_applied(state["applied"], source, event.message.offset):
                continue
            views[page] = {
                "views": state["views"] + 1,
                "applied": remember(state["applied"], source, event.message.offset),
            }

    async def views_of(web, page: str):
        state = views.get(page)
        if state is None:
            return web.json({"error": f"no views of {page!r} yet"}, status=404)
        return web.json({"page": page, "views": state["views"]})

    add_keyed_view(app, "/views/{page}", views, "page", views_of)
    add_health(app)
    return app


def __getattr__(name: str):
    # `faust -A page_views_app:app` looks up `app`: build it then, never on import.
    if name == "app":
        app = globals()["app"] = build()
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
