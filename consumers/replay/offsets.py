"""`pipeline offsets reset`: move a stopped consumer group's committed offsets to a time.

The plan (per partition: committed offset -> new offset) is always computed and shown first;
it is applied only with `execute`, and never while the group has active members, because the
broker would let live consumers overwrite it (or the members would skip/redo work silently).
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from consumers.replay.errors import ActiveGroupError, ReplayError
from consumers.replay.ranges import END, Bound, resolve
from consumers.replay.reader import make_consumer
from schemas.config import ConnectionSettings
from schemas.errors import broker_unreachable


@dataclass(frozen=True)
class OffsetChange:
    topic: str
    partition: int
    current: int | None  # committed offset, None if the group never committed there
    new: int

    @property
    def delta(self) -> int | None:
        return None if self.current is None else self.new - self.current


@dataclass(frozen=True)
class ResetPlan:
    group: str
    target: Bound
    changes: tuple[OffsetChange, ...]
    members: tuple[str, ...]  # active members (client ids @ hosts), empty if the group is idle
    state: str

    def describe(self) -> str:
        lines = [f"group {self.group} ({self.state}), reset to {self.target.describe()}:"]
        lines.append(f"  {'topic':<32} {'part':>4} {'current':>10} {'new':>10} {'change':>9}")
        for c in self.changes:
            current = "-" if c.current is None else str(c.current)
            delta = "-" if c.delta is None else f"{c.delta:+d}"
            lines.append(f"  {c.topic:<32} {c.partition:>4} {current:>10} {c.new:>10} {delta:>9}")
        if self.members:
            lines.append(f"  active members: {', '.join(self.members)}")
        return "\n".join(lines)


def plan_reset(
    settings: ConnectionSettings, group: str, target: Bound, topics: list[str] | None = None
) -> ResetPlan:
    admin = AdminClient(settings.kafka_conf())
    state, members = describe_group(admin, settings, group)
    committed = committed_offsets(admin, settings, group)
    chosen = sorted(set(topics) if topics else {topic for topic, _ in committed})
    if not chosen:
        raise ReplayError(f"group {group!r} has no committed offsets; name the topics with --topic")
    consumer = make_consumer(settings)
    try:
        changes = []
        for topic in chosen:
            topic_range = resolve(
                consumer,
                topic,
                target,
                Bound(END),
                address=settings.bootstrap_servers,
                timeout_s=max(settings.timeout_s, 5.0),
            )
            for p in topic_range.partitions:
                current = committed.get((topic, p.partition))
                changes.append(OffsetChange(topic, p.partition, current, p.start))
    finally:
        consumer.close()
    return ResetPlan(group, target, tuple(changes), members, state)


def apply_reset(settings: ConnectionSettings, plan: ResetPlan) -> None:
    """Commit the plan's offsets for the group; refuses if the group has members now."""
    admin = AdminClient(settings.kafka_conf())
    state, members = describe_group(admin, settings, plan.group)
    if members:
        raise ActiveGroupError(
            f"group {plan.group!r} has {len(members)} active member(s) ({', '.join(members)}); "
            "stop its workers first (`pipeline down` or stop the worker processes), then re-run; "
            "or reprocess without touching it: `pipeline replay TOPIC --into-group NEW_GROUP`"
        )
    request = ConsumerGroupTopicPartitions(
        plan.group, [TopicPartition(c.topic, c.partition, c.new) for c in plan.changes]
    )
    future = admin.alter_consumer_group_offsets([request])[plan.group]
    try:
        result = future.result(timeout=max(settings.timeout_s, 10.0))
    except KafkaException as exc:
        raise ReplayError(f"the broker refused the reset of group {plan.group!r}: {exc}") from exc
    failed = [tp for tp in result.topic_partitions if tp.error is not None]
    if failed:
        detail = ", ".join(f"{tp.topic}[{tp.partition}]: {tp.error}" for tp in failed)
        raise ReplayError(f"reset of group {plan.group!r} failed for {detail}")


def describe_group(admin, settings, group: str) -> tuple[str, tuple[str, ...]]:
    future = admin.describe_consumer_groups([group], request_timeout=settings.timeout_s)[group]
    try:
        description = future.result(timeout=max(settings.timeout_s, 10.0))
    except KafkaException as exc:
        raise broker_unreachable(
            settings.bootstrap_servers, f"describe group {group!r}: {exc}"
        ) from exc
    members = tuple(f"{m.client_id}@{m.host}" for m in description.members or ())
    state = getattr(description.state, "name", str(description.state)).lower()
    return state, members


def committed_offsets(admin, settings, group: str) -> dict[tuple[str, int], int]:
    future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group]
    try:
        result = future.result(timeout=max(settings.timeout_s, 10.0))
    except KafkaException as exc:
        raise broker_unreachable(
            settings.bootstrap_servers, f"offsets of group {group!r}: {exc}"
        ) from exc
    return {
        (tp.topic, tp.partition): tp.offset
        for tp in result.topic_partitions or ()
        if tp.offset >= 0
    }
