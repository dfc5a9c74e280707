"""A minimal faust app for the benchmark: decode + table update on shop.inventory, no
repartition and no derived events. Comparing it with the full inventory app and with a plain
confluent-kafka loop shows where the time goes (`python -m benchmarks.bench_streams`).

Run by the benchmark as `faust -A streams.shop.bench_app:app worker` (or `:app_no_table`) with
the STREAMS_* settings; it is not declared, so `pipeline up` never starts it.
"""

from __future__ import annotations

import time

import faust

from streams.base import Context, make_app
from streams.shop.settings import from_env
from streams.web import add_health


def build(*, use_table: bool = True) -> faust.App:
    settings = from_env("bench").stream
    app = make_app(settings)
    ctx = Context(app, settings)
    table = app.Table("bench-levels", partitions=3, key_type=str)
    levels: dict[str, int] = {}
    progress = {"count": 0, "first": None, "last": None}

    @app.agent(ctx.source("shop.inventory"), name="bench-apply")
    async def apply(stream):
        async for event in stream:
            sku = event.record["sku"]
            target = table if use_table else levels
            target[sku] = target.get(sku, 0) + event.record["delta"]
            now = time.time()
            progress["first"] = progress["first"] or now
            progress["last"] = now
            progress["count"] += 1

    add_health(app)

    @app.page("/bench")
    async def bench(web, request):
        return web.json(progress)

    return app


def __getattr__(name: str):
    # `app`: decode + table update; `app_no_table`: decode + a dict (faust's consuming alone).
    if name in ("app", "app_no_table"):
        app = build(use_table=name == "app")
        globals()[name] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
