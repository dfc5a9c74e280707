"""What the console reads from Kafka: partitions and end offsets, consumer groups and their lag.

Reads only: watermarks (one request per partition, never a scan), committed offsets and group
descriptions through the admin API. Connections come from `schemas.config.ConnectionSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from consumers.replay.offsets import committed_offsets
from schemas import project as projects
from schemas.config import ConnectionSettings
from schemas.errors import broker_unreachable

LINEAGE_GROUP = "lineage"


def watched_groups() -> list[str]:
    """The groups the project runs: its workers, its stream apps and the lineage indexer."""
    current = projects.current()
    return (
        [w.group for w in current.workers.values()]
        + [s.app_id for s in current.streams.values()]
        + [LINEAGE_GROUP]
    )


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: the group never committed here
    start: int  # where the group resumes: its committed offset, else the low watermark
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - self.start)


@dataclass
class GroupState:
    group: str
    state: str = "unknown"
    members: list[dict] = field(default_factory=list)  # {id, client, host, assignment: [..]}
    partitions: list[PartitionLag] = field(default_factory=list)

    @property
    def lag(self) -> int:
        return sum(p.lag for p in self.partitions)


class Cluster:
    """One admin client and one metadata consumer; close() when done."""

    def __init__(self, settings: ConnectionSettings):
        self.settings = settings
        self.admin = AdminClient(settings.kafka_conf())
        self._consumer = Consumer(settings.kafka_conf(**{
            "group.id": "pipeline-console-probe", "enable.auto.commit": False,
        }))

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def topics(self) -> dict[str, list[int]]:
        """{topic: sorted partition ids} of the cluster, internal topics left out."""
        try:
            meta = self.admin.list_topics(timeout=self.settings.timeout_s)
        except KafkaException as exc:
            raise broker_unreachable(
                self.settings.bootstrap_servers, f"list topics: {exc}"
            ) from exc
        return {
            name: sorted(t.partitions)
            for name, t in meta.topics.items()
            if not name.startswith("__") and t.error is None
        }

    def watermarks(self, topic: str, partitions: list[int]) -> dict[int, tuple[int, int]]:
        """{partition: (low, high)}."""
        out = {}
        for p in partitions:
            try:
                out[p] = self._consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=self.settings.timeout_s, cached=False
                )
            except KafkaException as exc:
                raise broker_unreachable(
                    self.settings.bootstrap_servers, f"watermarks of {topic}[{p}]: {exc}"
                ) from exc
        return out

    def group(self, group: str, *, describe: bool = True) -> GroupState:
        """Committed offsets against end offsets per partition; members when `describe`."""
        state = GroupState(group)
        if describe:
            self._describe(state)
        committed = committed_offsets(self.admin, self.settings, group)
        # Every partition of the topics the group commits on or is assigned: a partition it
        # never committed on (no record reached it yet) starts at its low watermark, as the
        # workers' `auto.offset.reset=earliest` does.
        topics = {topic for topic, _ in committed}
        topics |= {topic for m in state.members for topic, _ in m["assignment"]}
        present = self.topics() if topics else {}
        for topic in sorted(topics & set(present)):
            for p, (low, high) in sorted(self.watermarks(topic, present[topic]).items()):
                current = committed.get((topic, p))
                start = low if current is None else max(current, low)
                state.partitions.append(PartitionLag(topic, p, current, start, high))
        return state

    def _describe(self, state: GroupState) -> None:
        future = self.admin.describe_consumer_groups(
            [state.group], request_timeout=self.settings.timeout_s
        )[state.group]
        try:
            description = future.result(timeout=max(self.settings.timeout_s, 10.0))
        except KafkaException as exc:
            raise broker_unreachable(
                self.settings.bootstrap_servers, f"describe group {state.group!r}: {exc}"
            ) from exc
        state.state = getattr(description.state, "name", str(description.state)).lower()
        for m in description.members or ():
            assignment = m.assignment.topic_partitions if m.assignment else []
            state.members.append({
                "id": m.member_id, "client": m.client_id, "host": m.host,
                "assignment": [(tp.topic, tp.partition) for tp in assignment],
            })
