"""The fanout app: domain events in, NotificationRequested / SearchDocument* / CacheInvalidated
out (fanout-on-write).

Run it with `pipeline streams run fanout` (or `pipeline up`). Settings come from the
environment through `streams.shop.settings.from_env("fanout")`; the app is built on first access
to `streams.shop.fanout.app`, never on import.

Emails need the user's address and name, but OrderPlaced / OrderShipped carry only `user_id`
and arrive on `shop.orders` keyed by order id. So UserRegistered, OrderPlaced and OrderShipped
are re-keyed by user id onto one internal topic, `<app id>-by-user`: one agent then sees a
user's registration and orders in one partition, keeps `users` (user id -> email, name), and
parks orders of a user it does not know yet in `pending` until the registration arrives.
Search and cache events need no state and are derived straight from the source topics.
"""

from __future__ import annotations

import logging

import faust

from schemas import catalog
from schemas.errors import SerializationError
from streams.base import Context, make_app
from streams.shop import fanout_rules as rules
from streams.shop.settings import ShopSettings, from_env
from streams.web import add_health, add_keyed_view

logger = logging.getLogger(__name__)

SOURCE_TOPICS = ("shop.users", "shop.products", "shop.orders", "shop.inventory")
BY_USER_PARTITIONS = 3
# How long a partial batch waits for more events. This app sends one record per derived event
# whatever the batch size, so a short window costs it little throughput, and it is on the path
# of every order's mail; the inventory app keeps the default (0.1 s) because it writes each SKU
# once per batch.
BATCH_WITHIN_S = 0.02


def build(settings: ShopSettings | None = None) -> faust.App:
    settings = settings or from_env("fanout")
    app = make_app(settings.stream)
    ctx = Context(app, settings.stream)
    producer = ctx.producer_name
    # Carries the original Avro records (re-keyed), so it is read with the same codec. The
    # user id key places a record with its user's table entries: a keyless one is refused.
    by_user = ctx.source(
        f"{settings.stream.app_id}-by-user", partitions=BY_USER_PARTITIONS, internal=True,
        require_key=True,
    )
    users = app.Table("users", partitions=BY_USER_PARTITIONS, key_type=str)
    pending = app.Table("pending", partitions=BY_USER_PARTITIONS, key_type=str)
    outputs = {
        name: ctx.output(catalog.event_type(name).topic)
        for name in ("NotificationRequested", "SearchDocumentUpserted", "SearchDocumentDeleted",
                     "CacheInvalidated")
    }

    async def emit(event_type: str, record: dict, *, now: bool = False) -> None:
        await ctx.emit(outputs[event_type], event_type, record, now=now)

    async def notify_user(decoded, user: dict) -> None:
        await emit("NotificationRequested", rules.user_notification(decoded, user, producer))

    async def fan_out(stream):
        # A batch at a time (streams.batch): its sends go out at once, and faust acks the
        # batch's events only after they are all handled and what they emitted is delivered.
        async for events in ctx.batches(stream, within=BATCH_WITHIN_S):
            for event in events:
                try:
                    await fan_out_one(event)
                except (SerializationError, KeyError, TypeError, ValueError) as exc:
                    # Decodable but unusable (e.g. a derived event would not validate): keep
                    # it in the dead letters rather than stop the partition.
                    await ctx.dead_letter(event.message, exc)

    async def fan_out_one(event) -> None:
        decoded = event.value
        for event_type, record in rules.search_and_cache(decoded, producer):
            await emit(event_type, record, now=True)
        if decoded.type in rules.NEEDS_USER:
            message = event.message
            # A JSON key, like the tables' changelog keys, so that faust's web routing
            # (which hashes those) finds the worker that owns the user.
            await by_user.send(
                key=decoded.record["user_id"], value=message.value,
                headers=message.headers, key_serializer="json", value_serializer="raw",
                force=True,
            )
        elif decoded.type == "LowStockDetected":
            await emit("NotificationRequested",
                       rules.low_stock_notification(decoded, settings.ops_email, producer),
                       now=True)

    for name in (*SOURCE_TOPICS, settings.alerts_topic):
        app.agent(ctx.source(name), name=f"fan-out-{name}")(fan_out)

    @app.agent(by_user, name="notify-users")
    async def notify(stream):
        async for event in stream.events():
            try:
                await notify_one(event.value)
            except (SerializationError, KeyError, TypeError, ValueError) as exc:
                # Anyone can write to the internal topic: an event without a user stops here.
                await ctx.dead_letter(event.message, exc)

    async def notify_one(decoded) -> None:
        user_id = decoded.record["user_id"]
        if decoded.type == "UserRegistered":
            user = {"email": decoded.record["email"], "name": decoded.record["name"]}
            await notify_user(decoded, user)
            for parked in pending.get(user_id) or []:
                await notify_user(rules.from_json(parked), user)
            users[user_id] = user
            if user_id in pending:
                del pending[user_id]
            return
        user = users.get(user_id)
        if user is not None:
            await notify_user(decoded, user)
            return
        parked = pending.get(user_id) or []
        if all(p["record"]["event_id"] != decoded.event_id for p in parked):
            pending[user_id] = parked + [rules.to_json(decoded)]
            logger.info("parked %s for unknown user %s", decoded.type, user_id)

    async def user_of(web, user_id: str):
        user = users.get(user_id)
        if user is None:
            return web.json({"error": f"unknown user {user_id!r}: no UserRegistered seen yet",
                             "pending": len(pending.get(user_id) or [])}, status=404)
        return web.json({"user_id": user_id, **user})

    add_keyed_view(app, "/users/{user_id}", users, "user_id", user_of)
    add_health(app)
    return app


def __getattr__(name: str):
    # `faust -A streams.shop.fanout:app` looks up `app`; build it then, from the environment.
    if name == "app":
        app = build()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
