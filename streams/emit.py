"""Encoding derived events with the shared serializer and sending them from a faust agent."""

from __future__ import annotations

import asyncio
import logging

from faust.exceptions import ProducerSendError

from schemas import catalog
from schemas.serde import EventSerializer, event_headers

logger = logging.getLogger(__name__)


class Emitter:
    def __init__(self, serializer: EventSerializer):
        self._serializer = serializer
        # Deliveries of immediate sends not yet acknowledged, and the first that failed.
        self._in_flight: set[asyncio.Future] = set()
        self._failed: BaseException | None = None

    def encode(self, event_type: str, record: dict) -> tuple[bytes, bytes, list]:
        """`(key, value, headers)` of a catalog event; the key is its catalog key field."""
        key_field = catalog.event_type(event_type).key_field
        value = self._serializer.serialize(event_type, record)
        return str(record[key_field]).encode(), value, event_headers(event_type, record)

    async def send(self, topic, event_type: str, record: dict, *, now: bool = False):
        """Queue the event on `topic` (a faust topic); faust flushes before committing offsets.
        By default faust holds it until the current event's offset commits; `now` hands it to
        the producer at once (from a batch body, see `streams.batch`), and `delivered` waits
        for it."""
        key, value, headers = self.encode(event_type, record)
        if not now:
            return await topic.send(
                key=key, value=value, headers=headers, key_serializer="raw",
                value_serializer="raw",
            )
        # Straight to the app's producer: faust's own send path (a FutureMessage, a channel
        # and callbacks per record) cost more than encoding the event. Counted as faust counts
        # a send, so the app's metrics still show it.
        app, name = topic.app, topic.get_topic_name()
        producer = app.producer
        app.sensors.on_send_initiated(
            producer, name, message=None, keysize=len(key), valsize=len(value),
        )
        delivery = await producer.send(
            name, key, value, partition=None, timestamp=None, headers=headers,
        )
        self._in_flight.add(delivery)
        delivery.add_done_callback(self._settle)
        return delivery

    def _settle(self, delivery: asyncio.Future) -> None:
        self._in_flight.discard(delivery)
        exc = asyncio.CancelledError() if delivery.cancelled() else delivery.exception()
        if exc is not None and self._failed is None:
            logger.error("a derived event was not delivered: %r", exc)
            self._failed = exc

    async def delivered(self) -> None:
        """Wait until every immediate send so far is acknowledged by the broker; raise
        ProducerSendError if one was not (the caller must then not ack what caused it)."""
        if self._in_flight:
            await asyncio.wait(list(self._in_flight))
        failed, self._failed = self._failed, None
        if failed is not None:
            raise ProducerSendError(f"a derived event was not delivered: {failed!r}") from failed
