"""The inventory app: a changelog-backed table of on-hand stock per SKU, sales windows, and
the hourly sales summary.

Run it with `pipeline streams run inventory` (or `pipeline up`). Settings come from the
environment through `streams.shop.settings.from_env("inventory")`; the app is built on first
access to `streams.shop.inventory.app`, never on import.

Flow: ProductCreated (shop.products), OrderPlaced / OrderCancelled (shop.orders) and
StockAdjusted (shop.inventory) are split into per-SKU changes and re-keyed by SKU onto the
internal topic `<app id>-stock-changes` (placed by faust's own partitioner, so the tables,
their changelogs and faust's web routing agree on which worker owns a SKU). Both steps work in
batches (`streams.batch`): the split takes source events a batch at a time and sends one record
of changes per partition; one agent applies each change once (`streams.shop.inventory_state`),
writes each SKU's state once per record, publishes its newest InventoryLevel and every
LowStockDetected, and counts units sold (`streams.shop.sales`).
"""

from __future__ import annotations

import logging

import faust

from streams.base import Context, make_app
from streams.batch import Rekeyed, batches
from streams.codec import DeadLetteringTopic
from streams.shop import inventory_state, sales
from streams.shop.settings import ShopSettings, from_env
from streams.shop.summary import SummaryJob
from streams.web import add_health, add_keyed_view

logger = logging.getLogger(__name__)

SOURCE_TOPICS = ("shop.products", "shop.orders", "shop.inventory")
CHANGE_PARTITIONS = 3
INVENTORY_LINGER_S = 0.002


def build(settings: ShopSettings | None = None) -> faust.App:
    settings = settings or from_env("inventory")
    # Each record of changes writes a changelog record and an InventoryLevel per SKU: 2 ms of
    # linger puts them in a few produce requests.
    app = make_app(settings.stream, producer_linger_s=INVENTORY_LINGER_S)
    ctx = Context(app, settings.stream)
    # Keys are JSON here as in the tables' changelogs (faust's choice for str keys): faust's
    # web routing hashes the changelog key bytes to find a SKU's owner, so a SKU must land in
    # the same partition number here.
    # A record without its SKU key, a tombstone or a body that is not a change (anyone can
    # write to this topic) is dead-lettered rather than applied to the wrong owner or crashing.
    changes = DeadLetteringTopic(
        app, topics=[f"{settings.stream.app_id}-stock-changes"], key_type=str,
        key_serializer="json", value_serializer="json", partitions=CHANGE_PARTITIONS,
        internal=True, dead_letters=ctx.dead_letters, require_key=True,
    )
    table_args = {"partitions": CHANGE_PARTITIONS, "key_type": str}
    inventory = app.Table("inventory", **table_args)
    sold = app.Table("sales", **table_args)
    levels = ctx.output(settings.levels_topic)
    alerts = ctx.output(settings.alerts_topic)

    rekeyed = Rekeyed(changes, CHANGE_PARTITIONS)

    async def split_by_sku(stream):
        async for events in batches(stream):
            split: list[tuple[str, dict]] = []
            for event in events:
                source = f"{event.message.topic}:{event.message.partition}"
                try:
                    split += [
                        (change.sku, change.to_json()) for change in
                        inventory_state.changes_from(event.value, source, event.message.offset)
                    ]
                except (KeyError, TypeError, ValueError) as exc:
                    await ctx.dead_letter(event.message, exc)
            await rekeyed.send(split)

    for name in SOURCE_TOPICS:
        app.agent(ctx.source(name), name=f"split-{name}")(split_by_sku)

    @app.agent(changes, name="apply-stock-changes")
    async def apply_changes(stream):
        # One record holds many changes of SKUs that this record's partition owns: each SKU's
        # state is read, written (one changelog record) and published once per record.
        async for event in stream.events():
            try:
                items = [inventory_state.Change.from_json(v) for v in Rekeyed.items(event.value)]
            except TypeError as exc:
                await ctx.dead_letter(event.message, exc)
                continue
            by_sku: dict[str, list[inventory_state.Change]] = {}
            for change in items:
                by_sku.setdefault(change.sku, []).append(change)
            for sku, sku_changes in by_sku.items():
                await apply_sku(sku, sku_changes)

    async def apply_sku(sku: str, sku_changes: list) -> None:
        outcome = inventory_state.apply_batch(
            inventory.get(sku), sku_changes,
            threshold=settings.low_stock_threshold, producer=ctx.producer_name,
        )
        if outcome.level is not None:
            await ctx.emit(levels, "InventoryLevel", outcome.level, now=True)
        for alert in outcome.alerts:
            await ctx.emit(alerts, "LowStockDetected", alert)
        # A batch of duplicates writes the same state again: before a crash, the local store
        # may have taken a write whose changelog record never reached the broker.
        inventory[sku] = outcome.state
        sales_made = [
            sales.Sale(c.sold, c.occurred_at_ms, c.source, c.offset, c.dedupe_key)
            for c in sku_changes if c.sold
        ]
        if sales_made:
            current = sold.get(sku)
            updated = sales.apply_batch(current, sku, sales_made)
            sold[sku] = updated if updated is not None else current

    _add_views(app, inventory, sold)
    SummaryJob(app, ctx, sold, settings.summary_topic, settings.summary_interval_s).install()
    return app


def _add_views(app: faust.App, inventory, sold) -> None:
    async def inventory_of(web, sku: str):
        state = inventory.get(sku)
        if state is None:
            return _unknown_sku(web, sku)
        return web.json(inventory_state.public_view(state))

    async def sales_of(web, sku: str):
        state = sold.get(sku)
        if state is None:
            return _unknown_sku(web, sku)
        return web.json(sales.view(state))

    add_keyed_view(app, "/inventory/{sku}", inventory, "sku", inventory_of)
    add_keyed_view(app, "/sales/{sku}", sold, "sku", sales_of)
    add_health(app)


def _unknown_sku(web, sku: str):
    return web.json(
        {"error": f"unknown SKU {sku!r}: no product, order or stock adjustment names it yet"},
        status=404,
    )


def __getattr__(name: str):
    # `faust -A streams.shop.inventory:app` looks up `app`; build it then, from the environment.
    if name == "app":
        app = build()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


