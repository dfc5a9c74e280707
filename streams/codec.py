"""The faust side of `schemas.serde`: agents receive decoded, validated events.

`EventCodec` is a faust codec that turns Confluent-framed Avro into an `Event`; it never
encodes (derived events are encoded by `streams.emit` with the shared serializer and headers).
`DeadLetteringTopic` is a faust topic whose undecodable records (bad magic byte, unknown schema
id, a body that does not match its schema) are copied to the app's dead-letter topic with
their origin instead of crashing the agent, so the partition keeps flowing.

Null records (streams/README.md, "Null values and null keys"): on an event topic a null value
(a tombstone) is not an event. `NullSafeSchema` refuses it before any codec or agent sees it,
and the topic dead-letters it with reason "null value"; a topic created with
`allow_empty=True` (a compacted table topic, where a tombstone means "delete") hands it to the
agent as `None` instead. A null key is refused the same way (reason "null key") on topics that
need their key (`require_key=True`: re-keyed internal topics, whose key places the record in
the partition that owns a table's key); catalog event topics do not, an event carries its key
field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
from faust.exceptions import KeyDecodeError, ValueDecodeError
from faust.serializers.codecs import Codec

from schemas.deadletter import (  # noqa: F401 - used across streams
    H_ERROR_MESSAGE,
    H_ERROR_TYPE,
    H_GROUP,
    H_ORIGIN_OFFSET,
    H_ORIGIN_PARTITION,
    H_ORIGIN_TOPIC,
    H_REASON,
    MAX_ERROR_CHARS,
    REASON_NULL_KEY,
    REASON_NULL_VALUE,
    REASON_PERMANENT,
    REASON_POISON,
)
from schemas.errors import DeserializationError
from schemas.serde import EventDeserializer

logger = logging.getLogger(__name__)

NULL_VALUE_ERROR = "record has no value (tombstone)"


@dataclass(frozen=True)
class Event:
    """A decoded catalog event: its type name and its record (occurred_at as a datetime)."""

    type: str
    record: dict

    @property
    def event_id(self) -> str:
        return self.record["event_id"]

    def occurred_at_ms(self) -> int:
        return to_millis(self.record["occurred_at"])


def to_millis(value: Any) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1000)
    return int(value)


class EventCodec(Codec):
    """Decode-only faust codec backed by the registry; raises DeserializationError."""

    def __init__(self, deserializer: EventDeserializer, **kwargs: Any) -> None:
        self._deserializer = deserializer
        super().__init__(**kwargs)

    def _loads(self, data: bytes) -> Event:
        event_type, record = self._deserializer.decode(data)
        return Event(event_type, record)

    def _dumps(self, obj: Any) -> bytes:
        raise TypeError("EventCodec only decodes; encode derived events with streams.emit")

    def clone(self, *children: Codec) -> Codec:
        # faust combines codecs with `|`; this one is always used on its own.
        return self


class NullSafeSchema(faust.Schema):
    """A faust schema that refuses null values (unless `allow_empty`) and, with
    `require_key`, null keys, as decode errors: the topic dead-letters them, no agent sees them.
    """

    def __init__(self, *, require_key: bool = False, **kwargs: Any) -> None:
        self.require_key = require_key
        super().__init__(**kwargs)

    def loads_key(self, app, message, **kwargs: Any):
        if message.key is None and self.require_key:
            cause = DeserializationError(
                f"record has no key: {message.topic} is partitioned by key, so a keyless "
                "record would reach the worker that does not own it; produce it with its key"
            )
            raise KeyDecodeError(str(cause)) from cause
        return super().loads_key(app, message, **kwargs)

    def loads_value(self, app, message, **kwargs: Any):
        # faust itself returns None for a null value; an agent expecting an event would crash.
        # (With allow_empty, faust hands the None to the agent before calling this.)
        if message.value is None:
            cause = DeserializationError(f"{NULL_VALUE_ERROR}: a null value is not an event")
            raise ValueDecodeError(str(cause)) from cause
        return super().loads_value(app, message, **kwargs)


def null_record_reason(message, require_key: bool) -> str | None:
    """The dead-letter reason of a null record (None if `message` is not one)."""
    if message.value is None:
        return REASON_NULL_VALUE
    if message.key is None and require_key:
        return REASON_NULL_KEY
    return None


class DeadLetteringTopic(faust.Topic):
    """A source topic whose undecodable and null records go to `dead_letters` and are skipped.

    `require_key=True` also dead-letters records without a key; `allow_empty=True` delivers
    null values (tombstones) to the agent as `None` (see the module docstring).
    """

    def __init__(self, *args: Any, dead_letters: faust.TopicT | None = None,
                 require_key: bool = False, schema: faust.Schema | None = None, **kwargs: Any):
        self.dead_letters = dead_letters
        # Clones pass the schema on, so the agents' copies keep refusing nulls.
        schema = schema if schema is not None else NullSafeSchema(require_key=require_key)
        super().__init__(*args, schema=schema, **kwargs)

    @property
    def require_key(self) -> bool:
        return getattr(self.schema, "require_key", False)

    def _clone_args(self) -> dict:
        return {**super()._clone_args(), "dead_letters": self.dead_letters}

    async def on_key_decode_error(self, exc: Exception, message) -> None:
        await self._dead_letter(exc, message)

    async def on_value_decode_error(self, exc: Exception, message) -> None:
        await self._dead_letter(exc, message)

    async def _dead_letter(self, exc: Exception, message) -> None:
        # faust wraps our DeserializationError in ValueDecodeError; report the original.
        cause = exc.__cause__ if isinstance(exc.__cause__, DeserializationError) else exc
        reason = null_record_reason(message, self.require_key) or REASON_POISON
        await send_dead_letter(self.dead_letters, message, cause, self.app.conf.id, reason)


async def send_dead_letter(topic, message, exc: BaseException, group: str, reason: str) -> None:
    """Copy `message` (a faust Message) to `topic` with its origin and the error."""
    logger.warning(
        "dead-lettering %s[%s]@%s: %s", message.topic, message.partition, message.offset, exc
    )
    headers = list(message.headers or [])
    headers += dead_letter_headers(
        message.topic, message.partition, message.offset, exc, group, reason
    )
    # Awaiting the delivery keeps the record even if the worker dies right after: faust has
    # already acked the source offset.
    fut = await topic.send(
        key=message.key, value=message.value, headers=headers,
        key_serializer="raw", value_serializer="raw",
    )
    await fut


def dead_letter_headers(
    topic: str, partition: int, offset: int, exc: BaseException, group: str,
    reason: str = REASON_POISON,
) -> list[tuple[str, bytes]]:
    return [
        (H_ORIGIN_TOPIC, topic.encode()),
        (H_ORIGIN_PARTITION, str(partition).encode()),
        (H_ORIGIN_OFFSET, str(offset).encode()),
        (H_ERROR_TYPE, type(exc).__name__.encode()),
        (H_ERROR_MESSAGE, str(exc)[:MAX_ERROR_CHARS].encode()),
        (H_GROUP, group.encode()),
        (H_REASON, reason.encode()),
    ]
