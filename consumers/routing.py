"""Where a failed record goes next: the group's retry topics, then its dead-letter topic.

Topics per consumer group `G`: `G.retry.1` ... `G.retry.N` (one per configured delay) and
`G.dlq`. Every hop copies the record's key, value and original headers and adds:

    origin.topic / origin.partition / origin.offset   where the record was first consumed
    retry.attempt                                     attempts made so far
    retry.due_at_ms                                   (retry hops) not to be handled before
    error.type / error.message                        the last failure
    error.group                                       the consumer group that failed it
    dead_letter.reason                                (dead-letter hops) why no more retries

Poison records (undecodable, unknown schema id) skip the retries: they can never succeed.
A record with a null value (a tombstone) is not an event: it is dead-lettered at once with
reason "null value" (streams/README.md, "Null values and null keys"). Handlers never read the
key (the event carries its key field), so a null key is handled like any other record.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from consumers.message import Message, header
from schemas.deadletter import (  # noqa: F401 - re-exported for the consumers modules
    H_ATTEMPT,
    H_DUE_AT,
    H_ERROR_MESSAGE,
    H_ERROR_TYPE,
    H_GROUP,
    H_ORIGIN_OFFSET,
    H_ORIGIN_PARTITION,
    H_ORIGIN_TOPIC,
    H_REASON,
    MAX_ERROR_CHARS,
    REASON_EXHAUSTED,
    REASON_NULL_VALUE,
    REASON_PERMANENT,
    REASON_POISON,
)

HOP_HEADERS = (
    H_ORIGIN_TOPIC, H_ORIGIN_PARTITION, H_ORIGIN_OFFSET, H_ATTEMPT, H_DUE_AT,
    H_ERROR_TYPE, H_ERROR_MESSAGE, H_GROUP, H_REASON,
)


def retry_topic(group: str, n: int) -> str:
    return f"{group}.retry.{n}"


def dead_letter_topic(group: str) -> str:
    return f"{group}.dlq"


def group_topics(group: str, retry_count: int) -> list[str]:
    return [retry_topic(group, n) for n in range(1, retry_count + 1)] + [dead_letter_topic(group)]


def undecodable_reason(message: Message) -> str:
    """Why an undecodable record skips the retries: a tombstone, or another poison record."""
    return REASON_NULL_VALUE if message.value() is None else REASON_POISON


def attempts_so_far(message: Message) -> int:
    """Attempts made before this delivery (0 for a record read from its origin topic)."""
    value = header(message, H_ATTEMPT)
    return int(value) if value and value.isdigit() else 0


def due_at_ms(message: Message) -> int | None:
    value = header(message, H_DUE_AT)
    return int(value) if value and value.lstrip("-").isdigit() else None


@dataclass(frozen=True)
class Hop:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    dead_letter: bool


def next_hop(
    message: Message,
    group: str,
    delays_s: Sequence[float],
    error: BaseException,
    *,
    reason: str | None = None,
    now_ms: int | None = None,
) -> Hop:
    """The record to produce for a failed delivery. `reason` forces the dead-letter topic."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    attempt = attempts_so_far(message) + 1
    headers = [(k, v) for k, v in (message.headers() or ()) if k not in HOP_HEADERS]
    origin = _origin(message)
    headers += [
        (H_ORIGIN_TOPIC, origin[0].encode()),
        (H_ORIGIN_PARTITION, str(origin[1]).encode()),
        (H_ORIGIN_OFFSET, str(origin[2]).encode()),
        (H_ATTEMPT, str(attempt).encode()),
        (H_ERROR_TYPE, type(error).__name__.encode()),
        (H_ERROR_MESSAGE, str(error)[:MAX_ERROR_CHARS].encode("utf-8", errors="replace")),
        (H_GROUP, group.encode()),
    ]
    if reason is None and attempt > len(delays_s):
        reason = REASON_EXHAUSTED
    if reason is not None:
        headers.append((H_REASON, reason.encode()))
        return Hop(dead_letter_topic(group), message.key(), message.value(), headers, True)
    due = now_ms + int(delays_s[attempt - 1] * 1000)
    headers.append((H_DUE_AT, str(due).encode()))
    return Hop(retry_topic(group, attempt), message.key(), message.value(), headers, False)


def redrive_headers(message: Message, now_ms: int) -> list[tuple[str, bytes]]:
    """Headers for a dead letter sent back to the first retry topic after a fix: origin kept,
    attempts reset, due at once."""
    kept = [(k, v) for k, v in (message.headers() or ()) if k not in (H_ATTEMPT, H_DUE_AT,
                                                                         H_REASON)]
    return kept + [(H_ATTEMPT, b"0"), (H_DUE_AT, str(now_ms).encode())]


def _origin(message: Message) -> tuple[str, int, int]:
    topic = header(message, H_ORIGIN_TOPIC)
    if topic is not None:
        return topic, int(header(message, H_ORIGIN_PARTITION) or -1), int(
            header(message, H_ORIGIN_OFFSET) or -1
        )
    return message.topic() or "", int(message.partition() or 0), int(message.offset() or 0)
