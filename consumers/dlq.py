"""Inspecting dead-letter topics and sending their records back after a fix.

A group's dead letters are in `<group>.dlq`: the workers' (`worker-<name>.dlq`) and the stream
apps' (`streams-<name>.dlq`). `redrive` produces each record not yet redriven to
`<group>.retry.1` with its attempts reset and due at once (only that group reads it, so other
groups never see the record twice), then commits its progress in the consumer group
`<group>.dlq-redrive`: a record is redriven once, and `list` shows how many are pending.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from consumers import routing
from consumers.handlers import worker_names
from consumers.message import Record
from schemas import project as projects
from schemas.config import ConnectionSettings
from schemas.errors import DeserializationError, PipelineError, broker_unreachable
from schemas.kafka_io import produce_blocking
from schemas.serde import EventDeserializer


class DeadLetterError(PipelineError):
    """A dead-letter operation cannot be done as asked."""


def group_of(target: str) -> str:
    """A declared worker `<name>` -> `worker-<name>`, a declared stream app -> its app id
    (`streams-<name>`); anything else is taken as a group id."""
    if target in worker_names():
        return f"worker-{target}"
    streams = projects.current().streams
    if target in streams:
        return streams[target].app_id
    return target


def declared_groups() -> list[str]:
    """Every group the project declares a dead-letter topic for: workers, then stream apps."""
    current = projects.current()
    return [w.group for w in current.workers.values()] + [
        s.app_id for s in current.streams.values()
    ]


@dataclass(frozen=True)
class DeadLetterSummary:
    group: str
    topic: str
    total: int
    redriven: int
    exists: bool = True

    @property
    def pending(self) -> int:
        return self.total - self.redriven


def _redrive_group(group: str) -> str:
    return f"{group}.dlq-redrive"


def _consumer(settings: ConnectionSettings, group: str) -> Consumer:
    return Consumer(settings.kafka_conf(**{
        "group.id": _redrive_group(group),
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,
    }))


class MissingDeadLetterTopic(DeadLetterError):
    """The group has no dead-letter topic (yet)."""


def _topic_info(consumer: Consumer, settings: ConnectionSettings, topic: str, doing: str):
    """The topic's metadata (None if it does not exist); unreachable broker: one clear error."""
    try:
        metadata = consumer.list_topics(topic, timeout=settings.timeout_s)
    except KafkaException as exc:
        err = exc.args[0]
        detail = err.str() if hasattr(err, "str") else str(err)
        raise broker_unreachable(settings.bootstrap_servers, f"{doing}: {detail}") from exc
    info = metadata.topics.get(topic)
    if info is None or info.error is not None or not info.partitions:
        return None
    return info


def _partitions(consumer: Consumer, settings: ConnectionSettings, topic: str) -> list[int]:
    info = _topic_info(consumer, settings, topic, f"reading the partitions of {topic}")
    if info is None:
        raise MissingDeadLetterTopic(
            f"dead-letter topic {topic!r} does not exist; is the group right? Workers create "
            f"it on start, `pipeline topics apply` for every declared group (declared: "
            f"{', '.join(declared_groups()) or 'none'})"
        )
    return sorted(info.partitions)


def _ranges(consumer, settings, topic) -> dict[int, tuple[int, int, int]]:
    """{partition: (low, committed-or-low, high)}."""
    parts = _partitions(consumer, settings, topic)
    committed = _committed(consumer, [TopicPartition(topic, p) for p in parts], settings)
    result = {}
    for tp in committed:
        low, high = consumer.get_watermark_offsets(tp, timeout=settings.timeout_s)
        start = tp.offset if tp.offset >= 0 else low
        result[tp.partition] = (low, max(start, low), high)
    return result


# On a fresh broker the group coordinator (the __consumer_offsets topic) needs a few seconds;
# until then the broker answers with retriable errors such as NOT_COORDINATOR.
COORDINATOR_WAIT_S = 20.0
_COORDINATOR_NOT_READY = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
}


def _committed(consumer, partitions: list, settings: ConnectionSettings) -> list:
    deadline = time.monotonic() + max(settings.timeout_s, COORDINATOR_WAIT_S)
    while True:
        try:
            return consumer.committed(partitions, timeout=settings.timeout_s)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            retriable = isinstance(error, KafkaError) and (
                error.retriable() or error.code() in _COORDINATOR_NOT_READY
            )
            if not retriable or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def summary(settings: ConnectionSettings, target: str, *,
            missing_ok: bool = False) -> DeadLetterSummary:
    """Totals of a group's dead letters; with `missing_ok`, a group whose topic does not exist
    yet has none (`exists` False) instead of an error."""
    group = group_of(target)
    topic = routing.dead_letter_topic(group)
    consumer = _consumer(settings, group)
    try:
        ranges = _ranges(consumer, settings, topic)
    except MissingDeadLetterTopic:
        if not missing_ok:
            raise
        return DeadLetterSummary(group, topic, 0, 0, exists=False)
    finally:
        consumer.close()
    total = sum(high - low for low, _start, high in ranges.values())
    pending = sum(high - start for _low, start, high in ranges.values())
    return DeadLetterSummary(group, topic, total, total - pending)


def read(settings: ConnectionSettings, target: str, *, pending_only: bool = False,
         limit: int | None = None) -> Iterator[Record]:
    """Dead letters of a group in partition order (all of them, or those not yet redriven)."""
    group = group_of(target)
    topic = routing.dead_letter_topic(group)
    consumer = _consumer(settings, group)
    try:
        ranges = _ranges(consumer, settings, topic)
        yield from _read_ranges(consumer, settings, topic, ranges, pending_only, limit)
    finally:
        consumer.close()


def _read_ranges(consumer, settings, topic, ranges, pending_only, limit):
    assignment = [
        TopicPartition(topic, p, start if pending_only else low)
        for p, (low, start, high) in ranges.items()
        if high > (start if pending_only else low)
    ]
    if not assignment:
        return
    ends = {p: high for p, (_l, _s, high) in ranges.items()}
    consumer.assign(assignment)
    remaining = {tp.partition for tp in assignment}
    seen = 0
    deadline = time.monotonic() + max(30.0, settings.timeout_s * 6)
    while remaining and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() == KafkaError._PARTITION_EOF:
                remaining.discard(msg.partition())
                continue
            raise KafkaException(msg.error())
        if msg.offset() >= ends[msg.partition()]:
            remaining.discard(msg.partition())
            continue
        yield Record(topic, msg.value(), msg.key(), msg.partition(), msg.offset(),
                     list(msg.headers() or []), msg.timestamp()[1])
        seen += 1
        if limit is not None and seen >= limit:
            return
        if msg.offset() + 1 >= ends[msg.partition()]:
            remaining.discard(msg.partition())
    if remaining:
        raise DeadLetterError(f"timed out reading {topic} partitions {sorted(remaining)}")


def describe(letter: Record, deserializer: EventDeserializer | None) -> dict:
    """A dead letter as a JSON-friendly dict: origin, attempts, error, decoded event."""
    h = {k: (v.decode("utf-8", "replace") if v is not None else None)
         for k, v in letter.headers()}
    key = letter.key()
    out = {
        "partition": letter.partition(),
        "offset": letter.offset(),
        "key": key.decode("utf-8", "replace") if key else None,
        "origin": f"{h.get(routing.H_ORIGIN_TOPIC)}[{h.get(routing.H_ORIGIN_PARTITION)}]"
                  f"@{h.get(routing.H_ORIGIN_OFFSET)}",
        "attempts": int(h.get(routing.H_ATTEMPT) or 0),
        "reason": h.get(routing.H_REASON),
        "error": f"{h.get(routing.H_ERROR_TYPE)}: {h.get(routing.H_ERROR_MESSAGE)}",
        "headers": h,
    }
    if deserializer is not None:
        try:
            event_type, data = deserializer.decode(letter.value())
            out["event_type"] = event_type
            out["event"] = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                            for k, v in data.items()}
        except DeserializationError as exc:
            out["undecodable"] = str(exc)
            out["value_prefix_hex"] = (letter.value() or b"")[:32].hex()
    return out


def redrive(settings: ConnectionSettings, target: str, *, limit: int | None = None) -> int:
    """Send pending dead letters back to the group's first retry topic; returns how many."""
    group = group_of(target)
    topic = routing.dead_letter_topic(group)
    destination = routing.retry_topic(group, 1)
    consumer = _consumer(settings, group)
    producer = Producer(settings.kafka_conf(**{"enable.idempotence": True, "acks": "all"}))
    errors: list[str] = []
    try:
        info = _topic_info(consumer, settings, destination, f"looking up {destination}")
        if info is None:
            raise DeadLetterError(
                f"{destination} does not exist: group {group} runs without retries; start its "
                "worker with retry delays (the default) before redriving"
            )
        ranges = _ranges(consumer, settings, topic)
        progress: dict[int, int] = {}
        count = 0
        for letter in _read_ranges(consumer, settings, topic, ranges, True, limit):
            produce_blocking(
                producer, destination, letter.value(), key=letter.key(),
                headers=routing.redrive_headers(letter, int(time.time() * 1000)),
                on_delivery=lambda err, msg: errors.append(str(err)) if err else None,
                timeout_s=max(settings.timeout_s, 30.0),
            )
            progress[letter.partition()] = letter.offset() + 1
            count += 1
        remaining = producer.flush(30)
        if remaining or errors:
            raise DeadLetterError(
                f"{remaining} redriven records unacknowledged ({errors[:3]}); nothing was "
                "marked as redriven, run the command again"
            )
        if progress:
            consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in progress.items()],
                            asynchronous=False)
        return count
    finally:
        consumer.close()
