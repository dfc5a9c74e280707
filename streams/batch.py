"""Batching for stream apps: handle records a batch at a time, and re-key many items through an
internal topic in one record per target partition.

faust pays a fixed cost per record it delivers and per record an app writes (a table write is
also a changelog record). An app that takes its source in batches, writes each table key once
per batch and sends one internal record per partition instead of one per item pays those costs
once per batch. See streams/README.md, "Batching".

    async for events in batches(stream):          # faust events (.value, .message)
        items = [(key_of(e.value), to_json(e)) for e in events]
        await rekeyed.send(items)                  # a Rekeyed internal topic

    @app.agent(rekeyed.topic)                      # one record = many items of one partition
    async def apply(stream):
        async for event in stream.events():
            for item in Rekeyed.items(event.value): ...

Guarantees stay at-least-once: faust acks a batch's events only after the loop body that handles
the batch returns, and flushes everything sent before it commits their offsets. Sends from a
batch body must go out at once (`force=True`; `Rekeyed.send` and `Context.emit(..., now=True)`
do): faust would otherwise attach them to whichever event is current, and publish them only when
that event's partition commits, after offsets of other partitions in the batch may already be.
`Context.batches` (streams.base) is `batches` that also waits, before the batch is acked, until
what the body emitted with `now=True` is delivered, and raises if it was not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence

from aiokafka.partitioner import murmur2
from faust.serializers import codecs

# Records per batch, and how long a partial batch waits for more before it is handled.
BATCH_SIZE = 1000
BATCH_WITHIN_S = 0.1
# Items per internal record: keeps a record far below the broker's 1 MB message limit.
ITEMS_PER_RECORD = 500


async def batches(
    stream, size: int = BATCH_SIZE, within: float = BATCH_WITHIN_S
) -> AsyncIterator[Sequence]:
    """The stream's events in lists of up to `size`; a list is yielded when full or `within`
    seconds after its first event. The events are acked when the loop body returns."""
    async for events in stream.take_events(size, within=within):
        yield events


class Rekeyed:
    """An internal topic (JSON keys and values, `partitions` partitions) that carries items
    re-keyed by a str key, many per record: each record holds items whose keys all fall in the
    record's partition, so a table keyed like the items and written while handling the record
    writes to the right changelog partition, and faust's web routing finds the owner."""

    def __init__(self, topic, partitions: int):
        self.topic = topic
        self.partitions = partitions

    def partition_of(self, key: str) -> int:
        """faust's own choice for `key` (aiokafka's murmur2 of the JSON key bytes)."""
        return (murmur2(codecs.dumps("json", key)) & 0x7FFFFFFF) % self.partitions

    async def send(self, items: Iterable[tuple[str, object]]) -> None:
        """Send `(key, value)` items, grouped by partition, in order within each partition."""
        by_partition: dict[int, list[tuple[str, object]]] = {}
        for key, value in items:
            by_partition.setdefault(self.partition_of(key), []).append((key, value))
        for partition, group in by_partition.items():
            for start in range(0, len(group), ITEMS_PER_RECORD):
                chunk = group[start:start + ITEMS_PER_RECORD]
                # Keyed by its first item's key, which falls in `partition` like every other.
                await self.topic.send(
                    key=chunk[0][0], value=[value for _, value in chunk], partition=partition,
                    force=True,
                )

    @staticmethod
    def items(value) -> list:
        """The items of one record (a record written one item at a time holds just that)."""
        return value if isinstance(value, list) else [value]
