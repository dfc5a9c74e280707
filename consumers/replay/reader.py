"""Reading a fixed offset range of every partition of a topic, in parallel, then stopping.

One consumer is assigned every partition of the range at its start offset (no group join, no
commits), so librdkafka fetches all partitions concurrently. A partition is done when it
reaches the end offset fixed at resolve time; the read stops when all are, instead of
waiting for new data. If a partition stops advancing short of its end (e.g. behind an open
transaction) for `idle_timeout_s`, the read ends with an error naming it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from consumers.replay.errors import ReplayError
from consumers.replay.ranges import TopicRange
from schemas.config import ConnectionSettings
from schemas.kafka_io import BULK_CONSUMER_CONF

logger = logging.getLogger(__name__)

_EOF = KafkaError._PARTITION_EOF
DEFAULT_BATCH = 20_000
DEFAULT_IDLE_TIMEOUT_S = 20.0


def make_consumer(settings: ConnectionSettings, **overrides) -> Consumer:
    """A consumer for assign()-only reads: it never joins or commits for its throwaway group."""
    conf = settings.kafka_conf(
        **{
            "group.id": f"replay-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            # Big fetches: a replay reads history, so throughput matters more than latency.
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 16 * 1024 * 1024,
            "queued.max.messages.kbytes": 256 * 1024,
            **BULK_CONSUMER_CONF,
            "socket.timeout.ms": max(1000, int(settings.timeout_s * 1000)),
            "error_cb": _log_client_error,
        }
    )
    conf.update(overrides)
    return Consumer(conf)


def _log_client_error(err) -> None:
    # Reported as one error by the caller; the detail is for `-v`.
    logger.debug("kafka client: %s", err)


def read_batches(
    consumer: Consumer,
    topic_range: TopicRange,
    *,
    batch_size: int = DEFAULT_BATCH,
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
    stop=None,
) -> Iterator[list]:
    """Yield lists of confluent_kafka Messages inside the range, in offset order per partition.

    `stop` is an optional threading.Event; when set, the read ends after the current batch.
    """
    topic = topic_range.topic
    ends = {p.partition: p.end for p in topic_range.partitions if p.size > 0}
    if not ends:
        return
    consumer.assign(
        [TopicPartition(topic, p.partition, p.start) for p in topic_range.partitions if p.size > 0]
    )
    positions = {p.partition: p.start for p in topic_range.partitions}
    last_progress = time.monotonic()

    def finish(partition: int) -> None:
        del ends[partition]
        consumer.pause([TopicPartition(topic, partition)])

    while ends and not (stop is not None and stop.is_set()):
        messages = consumer.consume(batch_size, timeout=0.5)
        if not messages:
            if time.monotonic() - last_progress > idle_timeout_s:
                raise ReplayError(_stalled(topic, ends, positions, idle_timeout_s))
            continue
        last_progress = time.monotonic()
        batch = []
        append = batch.append
        for msg in messages:
            err = msg.error()
            partition = msg.partition()
            end = ends.get(partition)
            if err is not None:
                if err.code() != _EOF:
                    raise KafkaException(err)
                # EOF: the next offset is msg.offset(); past the end means only control
                # records (transaction markers) were left.
                if end is not None and msg.offset() >= end:
                    finish(partition)
                continue
            if end is None:
                continue
            offset = msg.offset()
            if offset >= end:
                finish(partition)
                continue
            append(msg)
            positions[partition] = offset + 1
            if offset + 1 >= end:
                finish(partition)
        if batch:
            yield batch


def _stalled(topic: str, ends: dict, positions: dict, idle_timeout_s: float) -> str:
    parts = ", ".join(
        f"partition {p} at offset {positions.get(p)} of {end}" for p, end in sorted(ends.items())
    )
    return (
        f"{topic}: no progress for {idle_timeout_s:.0f}s before the end of the range ({parts}); "
        "an open transaction or an unavailable partition leader can cause this. "
        "The records before that point were written; re-run with a smaller --to, "
        "or retry once the partition is readable"
    )
