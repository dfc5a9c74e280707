"""The message a handler sees, typed against a small Protocol so handlers run without a broker.

`confluent_kafka.Message` cannot be built from Python; `Record` can, and both satisfy
`Message`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class Message(Protocol):
    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...
    def headers(self) -> list[tuple[str, bytes]] | None: ...
    def timestamp(self) -> tuple[int, int]: ...


@dataclass
class Record:
    """A plain `Message` for unit tests and for records rebuilt from a dead-letter topic."""

    topic_: str
    value_: bytes | None
    key_: bytes | None = None
    partition_: int = 0
    offset_: int = 0
    headers_: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp_ms: int = 0

    def topic(self) -> str:
        return self.topic_

    def partition(self) -> int:
        return self.partition_

    def offset(self) -> int:
        return self.offset_

    def key(self) -> bytes | None:
        return self.key_

    def value(self) -> bytes | None:
        return self.value_

    def headers(self) -> list[tuple[str, bytes]]:
        return list(self.headers_)

    def timestamp(self) -> tuple[int, int]:
        return (1, self.timestamp_ms)

    def error(self) -> None:
        return None


def header(message: Message, name: str) -> str | None:
    """The last value of header `name`, decoded, or None."""
    found = None
    for key, value in message.headers() or ():
        if key == name and value is not None:
            found = value.decode("utf-8", errors="replace")
    return found


class Event:
    """A decoded record: what handlers receive. (A plain class: built once per record.)"""

    __slots__ = ("event_type", "data", "message", "attempt", "event_id")

    def __init__(self, event_type: str, data: dict[str, Any], message: Message,
                 attempt: int = 1):
        self.event_type = event_type
        self.data = data
        self.message = message
        self.attempt = attempt
        self.event_id = str(data["event_id"])

    def __repr__(self) -> str:
        return f"Event({self.event_type}, {self.event_id}, attempt {self.attempt})"
