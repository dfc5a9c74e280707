"""`pipeline replay TOPIC --into-group GROUP --worker NAME`: reprocess a range in a fresh group.

The fresh group gets its start offsets committed before the worker joins (so it begins at
`--from`, not at the topic's start), and the worker (`consumers.runtime.run_worker`) runs
bounded by the end offsets fixed now. The live group's offsets are never touched.

Effects outside the database (e-mail) must not happen twice: for a worker whose effects are
not transactional, the fresh group's inbox is seeded with the live group's processed event
ids first, so only events the live group never completed are sent. Database effects are
re-applied (the handlers are idempotent upserts keyed by event), which rebuilds what a bug
fix or a wiped table changed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from consumers.replay.errors import EmptyRangeError, ReplayError
from consumers.replay.offsets import committed_offsets, describe_group
from consumers.replay.ranges import parse_bound, resolve
from consumers.replay.reader import make_consumer
from schemas import catalog
from schemas.config import ConnectionSettings

logger = logging.getLogger(__name__)


@dataclass
class ReprocessOutcome:
    topic: str
    group: str
    worker: str
    live_group: str
    records_in_range: int
    seeded: int
    counts: dict = field(default_factory=dict)
    seconds: float = 0.0

    def describe(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())) or "nothing"
        seeded = (
            f"; inbox seeded with {self.seeded} event ids of {self.live_group} so external "
            "effects are not repeated"
            if self.seeded
            else ""
        )
        return (
            f"reprocessed {self.records_in_range} offsets of {self.topic} through worker "
            f"{self.worker} as group {self.group} in {self.seconds:.1f}s: {counts}{seeded}; "
            f"group {self.live_group} untouched"
        )


def reprocess(
    settings: ConnectionSettings,
    topic: str,
    group: str,
    *,
    worker: str | None,
    start=None,
    end=None,
    partitions: list[int] | None = None,
    live_group: str | None = None,
    options=None,
    db_url: str | None = None,
) -> ReprocessOutcome:
    from consumers.handlers import make_handler
    from consumers.runtime import database_for, group_for, run_worker

    if not worker:
        raise ReplayError("--into-group needs --worker NAME (the worker that reprocesses)")
    # The worker's database, as run_worker resolves it; Django is set up before the handler.
    url = database_for(settings, db_url)
    handler = make_handler(worker)
    if topic not in handler.topics and topic in catalog.topics():
        raise ReplayError(
            f"worker {worker!r} consumes {', '.join(handler.topics)}, not {topic!r}; "
            "pick the worker of that topic"
        )
    live_group = live_group or group_for(worker)
    if group == live_group:
        raise ReplayError(
            f"--into-group {group!r} is the live group of worker {worker!r}; name a fresh group"
        )
    admin = AdminClient(settings.kafka_conf())
    _require_fresh(admin, settings, group)

    consumer = make_consumer(settings)
    try:
        chosen = resolve(
            consumer,
            topic,
            parse_bound(start, "beginning"),
            parse_bound(end, "end"),
            partitions,
            address=settings.bootstrap_servers,
            timeout_s=max(settings.timeout_s, 5.0),
        )
        # Every partition of the topic must be bounded, else the worker would read the ones
        # left out from their beginning: those start and end at their high watermark.
        everything = resolve(
            consumer,
            topic,
            parse_bound("end", "end"),
            parse_bound("end", "end"),
            address=settings.bootstrap_servers,
            timeout_s=max(settings.timeout_s, 5.0),
        )
    finally:
        consumer.close()
    if chosen.size == 0:
        raise EmptyRangeError(f"no records in {topic!r} in the given range; nothing to reprocess")
    bounds = {p.partition: (p.high, p.high) for p in everything.partitions}
    bounds.update({p.partition: (p.start, p.end) for p in chosen.partitions})

    _commit_start(admin, settings, group, topic, bounds)
    seeded = 0 if handler.transactional else seed_inbox(url, live_group, group)
    started = time.monotonic()
    result = run_worker(
        worker,
        settings,
        group_id=group,
        stop_at_offsets={(topic, p): end for p, (_, end) in bounds.items()},
        topics=[topic],
        options=options,
        database_url=url,
    )
    return ReprocessOutcome(
        topic,
        group,
        worker,
        live_group,
        chosen.size,
        seeded,
        dict(result.counts),
        time.monotonic() - started,
    )


def _require_fresh(admin, settings, group: str) -> None:
    _, members = describe_group(admin, settings, group)
    committed = committed_offsets(admin, settings, group)
    if members or committed:
        raise ReplayError(
            f"consumer group {group!r} already exists ({len(members)} members, "
            f"{len(committed)} committed partitions); --into-group needs a fresh group name"
        )


def _commit_start(admin, settings, group: str, topic: str, bounds: dict) -> None:
    request = ConsumerGroupTopicPartitions(
        group, [TopicPartition(topic, p, start) for p, (start, _) in sorted(bounds.items())]
    )
    try:
        admin.alter_consumer_group_offsets([request])[group].result(
            timeout=max(settings.timeout_s, 10.0)
        )
    except KafkaException as exc:
        raise ReplayError(f"could not set the start offsets of group {group!r}: {exc}") from exc


def seed_inbox(url: str, live_group: str, group: str) -> int:
    """Copy the live group's processed event ids into `group`'s inbox; returns how many."""
    from consumers.db import Database
    from consumers.inbox import TABLE, Inbox

    database = Database(url)
    database.connect()
    try:
        Inbox(database, group).create()
        with database.transaction() as tx:
            return tx.execute(
                f"INSERT INTO {TABLE} (consumer_group, event_id, event_type, processed_at_ms) "
                f"SELECT %s, event_id, event_type, processed_at_ms FROM {TABLE} "
                "WHERE consumer_group = %s ON CONFLICT DO NOTHING",
                (group, live_group),
            )
    finally:
        database.close()
