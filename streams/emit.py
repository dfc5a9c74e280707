"""Encoding derived events with the shared serializer and sending them from a faust agent."""

from __future__ import annotations

from schemas import catalog
from schemas.serde import EventSerializer, event_headers


class Emitter:
    def __init__(self, serializer: EventSerializer):
        self._serializer = serializer

    def encode(self, event_type: str, record: dict) -> tuple[bytes, bytes, list]:
        """`(key, value, headers)` of a catalog event; the key is its catalog key field."""
        key_field = catalog.event_type(event_type).key_field
        value = self._serializer.serialize(event_type, record)
        return str(record[key_field]).encode(), value, event_headers(event_type, record)

    async def send(self, topic, event_type: str, record: dict, *, now: bool = False):
        """Queue the event on `topic` (a faust topic); faust flushes before committing offsets.
        By default faust holds it until the current event's offset commits; `now` hands it to
        the producer at once (from a batch body, see `streams.batch`)."""
        key, value, headers = self.encode(event_type, record)
        return await topic.send(
            key=key, value=value, headers=headers, key_serializer="raw", value_serializer="raw",
            force=now,
        )
