"""The worker runtime: one consumer group, one handler, batches, inbox, retries, dead letters.

Entry point::

    run_worker(name, settings, *, group_id=None, stop_at_offsets=None, topics=None,
               handler=None, options=None, database_url=None, paths=None) -> WorkerResult

- `name` picks a worker declared under `[tool.event-pipeline.workers]` (or pass `handler=`);
  the consumer group is `worker-<name>` unless `group_id` is given. Django is set up first
  (the project's settings when declared, `consumers.django_setup`), and the inbox lives in the
  project's database (`database_for`).
- `stop_at_offsets` ({(topic, partition): end_offset} or a list of TopicPartition) makes the run
  bounded, e.g. to reprocess a range into a fresh group: records at or past `end_offset` are not
  handled, and `run_worker` returns once every listed partition has reached its end. A bounded
  run has no retry topics (a failure goes to the group's dead-letter topic at once, where
  `pipeline dlq` shows it) and reads from the earliest offset when the group has none.
- It returns on SIGTERM/SIGINT (when called from the main thread), on `stop_event.set()`, or at
  the end of a bounded run; it always finishes the current batch, commits and closes.

Per batch (`poll` for the first record, then `consume(batch_size - 1, timeout=0)` for what is
already fetched: full batches under load, no waiting at a trickle): decode each record with
`schemas.serde.EventDeserializer`; skip it if the group's inbox already has its event id;
otherwise run the handler (see `consumers.handler` for transactional and non-transactional
effects); a failure is produced to the next retry topic or the dead-letter topic. Then the
database transaction commits, the producer is flushed, and only then are the offsets stored
(`enable.auto.offset.store=false`); librdkafka commits stored offsets every second, on
partition revocation and on close.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)

from consumers import django_setup, routing
from consumers.db import Database, Transaction
from consumers.group_topics import ensure_topics
from consumers.handler import Handler, PermanentFailure
from consumers.inbox import Inbox, NoInbox
from consumers.message import Event, Message
from consumers.metrics import WorkerMetrics
from consumers.options import WorkerOptions
from schemas import project as projects
from schemas import registry
from schemas.config import ConnectionSettings, LocalPaths, paths_from_env
from schemas.config import database_url as default_database_url
from schemas.errors import (
    AuthorizationRefused,
    DeserializationError,
    PipelineError,
    ServiceUnavailable,
)
from schemas.kafka_io import BULK_CONSUMER_CONF, produce_blocking
from schemas.refusals import refusal
from schemas.serde import EventDeserializer

logger = logging.getLogger(__name__)

_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# A consumer that fails fatally is replaced by a new one, but not endlessly: this many times in
# this window means something outside keeps failing it (e.g. a second process with the same
# group.instance.id fencing this one).
_REPLACEMENTS_ALLOWED = 3
_REPLACEMENT_WINDOW_S = 300.0


class _HandlerFailed(Exception):
    """A handler failed on the fast path; the batch is replayed with savepoints."""


class _SomeAlreadyApplied(Exception):
    """The batch holds events the inbox already has; redo it with a lookup first."""


class _ConsumerFailed(Exception):
    """The consumer client hit a fatal error and can do nothing more."""

    def __init__(self, error: KafkaError):
        super().__init__(str(error))
        self.error = error


class ConsumerFailing(PipelineError):
    """The consumer failed fatally again and again: replacing it does not help."""


class DeliveryFailed(PipelineError):
    """A retry or dead-letter record was not acknowledged by the broker; offsets not stored."""

    retriable = True


@dataclass
class WorkerResult:
    group_id: str
    counts: dict[str, int] = field(default_factory=dict)
    # Next offset per partition after the last batch (what was stored for commit).
    positions: dict[tuple[str, int], int] = field(default_factory=dict)
    # Consumers replaced after a fatal error (e.g. fenced static membership).
    consumer_replacements: int = 0


def group_for(name: str) -> str:
    return f"worker-{name}"


class _Context:
    def __init__(self, name: str, options: WorkerOptions, database: Database,
                 metrics: WorkerMetrics | None = None):
        self.name = name
        self.options = options
        self.database = database
        # A handler may register its own collectors in `metrics.registry` (served on /metrics).
        self.metrics = metrics


class Worker:
    def __init__(
        self,
        handler: Handler,
        settings: ConnectionSettings,
        *,
        group_id: str,
        database_url: str,
        options: WorkerOptions | None = None,
        topics: Sequence[str] | None = None,
        stop_at_offsets: Mapping[tuple[str, int], int] | None = None,
        stop_event: threading.Event | None = None,
        name: str | None = None,
    ):
        self.handler = handler
        self.name = name or handler.name
        self.settings = settings
        self.group_id = group_id
        self.options = options or WorkerOptions()
        self.stop_at = dict(stop_at_offsets) if stop_at_offsets is not None else None
        if self.stop_at is not None:
            self.options = self.options.replace(retry_delays_s=())
        self.source_topics = list(topics or handler.topics)
        self.retry_topics = [
            routing.retry_topic(group_id, n)
            for n in range(1, len(self.options.retry_delays_s) + 1)
        ]
        self._retry_set = frozenset(self.retry_topics)
        self.stop_event = stop_event or threading.Event()
        self.database = Database(database_url)
        # A handler with `claims_inbox = True` records what it handled itself.
        self.inbox = (NoInbox() if getattr(handler, "claims_inbox", False)
                      else Inbox(self.database, group_id))
        self.metrics = WorkerMetrics(self.name, group_id)
        self.result = WorkerResult(group_id)
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._deserializer: EventDeserializer | None = None
        # Retry partitions paused until their head record is due: {(topic, partition): due_ms}.
        self._paused: dict[tuple[str, int], int] = {}
        self._delivery_errors: list[str] = []
        self._reached: set[tuple[str, int]] = set()
        self._last_bound_check = 0.0
        self._assigned: frozenset[tuple[str, int]] = frozenset()
        self._client_failure: KafkaError | None = None  # a fatal error reported by error_cb
        self._replaced_at: list[float] = []

    # -- lifecycle ------------------------------------------------------------------------

    def run(self, on_ready: Callable[[Worker], None] | None = None) -> WorkerResult:
        try:
            self._open()
            if on_ready is not None:
                on_ready(self)
            while not self.stop_event.is_set():
                if self.stop_at is not None and self._bounded_run_done():
                    break
                try:
                    self._resume_due()
                    messages = self._next_batch()
                    if self._client_failure is not None:
                        raise _ConsumerFailed(self._client_failure)
                    if messages:
                        started = time.monotonic()
                        self._process_batch(messages)
                        self.metrics.observe_batch(time.monotonic() - started)
                except _ConsumerFailed as failed:
                    self._replace_consumer(failed.error)
        finally:
            self._close()
        return self.result

    def stop(self) -> None:
        self.stop_event.set()

    def _next_batch(self) -> list:
        # Wait for the first record only, then take what is already fetched: a full batch
        # under load, no waiting for a batch to fill at a trickle.
        first = self._consumer.poll(self.options.poll_timeout_s)
        if first is None:
            return []
        if self.options.batch_size == 1:
            return [first]
        return [first, *self._consumer.consume(self.options.batch_size - 1, timeout=0)]

    def _open(self) -> None:
        client = registry.connect(self.settings)
        self._deserializer = EventDeserializer(client)
        self.database.connect()
        # The inbox table exists for every worker: a handler that claims its own inbox (the
        # tasks worker) writes its rows there, in its own transaction.
        Inbox(self.database, self.group_id).create()
        self.handler.open(_Context(self.name, self.options, self.database, self.metrics))
        ensure_topics(self.settings, routing.group_topics(self.group_id, len(self.retry_topics)))
        self._producer = Producer(
            self.settings.kafka_conf(
                **{
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                    "client.id": f"{self.group_id}-router",
                }
            )
        )
        self._consumer = Consumer(self._consumer_conf())
        self._check_broker()
        self._subscribe()
        self.metrics.set_ready(True)
        logger.info("worker %s consuming %s as group %s", self.name,
                    self.source_topics + self.retry_topics, self.group_id)

    def _subscribe(self) -> None:
        self._consumer.subscribe(
            self.source_topics + self.retry_topics,
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )

    def _replace_consumer(self, error: KafkaError) -> None:
        """A fatal error ends a consumer client for good. The usual one: a static member
        (group.instance.id) fenced after its group coordinator's broker died, when librdkafka
        joined again while the new coordinator still held the old member. Close that client
        and join as a new one. Offsets stored since the last commit are lost with it, so those
        records come again, and the inbox drops what was already done."""
        now = time.monotonic()
        self._replaced_at = [t for t in self._replaced_at if now - t < _REPLACEMENT_WINDOW_S]
        if len(self._replaced_at) >= _REPLACEMENTS_ALLOWED:
            raise ConsumerFailing(
                f"{self.name}: the consumer of group {self.group_id} failed fatally "
                f"{len(self._replaced_at) + 1} times within {_REPLACEMENT_WINDOW_S:.0f} s "
                f"(last: {error}). If another process uses group.instance.id "
                f"{self.options.instance_id!r}, give each process its own --instance-id."
            )
        self._replaced_at.append(now)
        self.result.consumer_replacements += 1
        logger.warning("%s: consumer failed fatally (%s); replacing it with a new one, "
                       "which rejoins group %s", self.name, error, self.group_id)
        self.metrics.set_ready(False)
        self._client_failure = None
        try:
            self._consumer.close()
        except (KafkaException, RuntimeError) as exc:
            logger.info("%s: closing the failed consumer: %s", self.name, exc)
        self._forget([TopicPartition(t, p) for t, p in self._assigned])
        self._consumer = Consumer(self._consumer_conf())
        self._subscribe()
        self.metrics.set_ready(True)

    def _consumer_conf(self) -> dict:
        conf = {
            "group.id": self.group_id,
            "client.id": self.group_id,
            "enable.auto.offset.store": False,
            "enable.auto.commit": True,
            "auto.commit.interval.ms": self.options.auto_commit_interval_ms,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky",
            "enable.partition.eof": False,
            # Pick up topics created after the worker started within seconds, not minutes.
            "topic.metadata.refresh.interval.ms": 5000,
            "statistics.interval.ms": self.options.statistics_interval_ms,
            "stats_cb": self.metrics.on_statistics,
            "error_cb": self._on_client_error,
            # A crashed member's partitions move on after 10 s; a restarted member with the same
            # instance id (static membership) takes them back at once.
            "session.timeout.ms": 10000,
            **BULK_CONSUMER_CONF,
        }
        if self.options.instance_id:
            conf["group.instance.id"] = self.options.instance_id
        return self.settings.kafka_conf(**conf)

    def _check_broker(self) -> None:
        try:
            self._consumer.list_topics(timeout=self.settings.timeout_s)
        except KafkaException as exc:
            raise ServiceUnavailable(
                "Kafka broker", self.settings.bootstrap_servers, str(exc.args[0]),
                "Start the local stack with `pipeline up`, or set KAFKA_BOOTSTRAP_SERVERS",
            ) from exc

    def _close(self) -> None:
        self.metrics.set_ready(False)
        self.metrics.close()
        try:
            if self._consumer is not None:
                self._commit()
                self._consumer.close()
        finally:
            try:
                if self._producer is not None:
                    self._producer.flush(self.settings.timeout_s)
                self.handler.close()
            finally:
                self.database.close()
                # Let the clients' threads go with the objects, even if the Worker lives on.
                self._consumer = self._producer = None

    # -- the batch --------------------------------------------------------------------------

    def _process_batch(self, messages: list) -> None:
        todo, next_offsets = self._admit(messages)
        pending: list[tuple[Message, BaseException, str | None]] = []
        decoded: list[Event] = []
        for msg in todo:
            try:
                event_type, data = self._deserializer.decode(msg.value())
            except DeserializationError as exc:
                self.metrics.failed(exc)
                pending.append((msg, exc, routing.undecodable_reason(msg)))
                continue
            attempt = routing.attempts_so_far(msg) + 1 if msg.topic() in self._retry_set else 1
            decoded.append(Event(event_type, data, msg, attempt))
        counts: dict[str, int] = {}
        if self.handler.transactional:
            self._apply_transactional(decoded, pending, counts)
        else:
            for event in decoded:
                outcome = self._apply_external(event, pending)
                counts[outcome] = counts.get(outcome, 0) + 1
        counts.pop("failed", None)
        for msg, error, reason in pending:
            outcome = "dead_lettered" if self._route(msg, error, reason) else "retried"
            counts[outcome] = counts.get(outcome, 0) + 1
        if pending:  # most batches route nothing: no delivery report to wait for
            self._flush()
        self._store(next_offsets)
        for outcome, n in counts.items():
            self.metrics.count(outcome, n)
            self.result.counts[outcome] = self.result.counts.get(outcome, 0) + n

    def _admit(self, messages: list) -> tuple[list[Message], dict[tuple[str, int], int]]:
        """The records to handle now, and the offsets to store once they are done.

        Skips records past a bounded run's end and retry records not yet due (their partition
        is paused and rewound, so the rest of that partition in this batch waits too).
        """
        todo = []
        next_offsets: dict[tuple[str, int], int] = {}
        blocked: set[tuple[str, int]] = set()
        stop_at, retry_topics = self.stop_at, self._retry_set
        for msg in messages:
            if msg.error() is not None:
                self._on_consume_error(msg.error(), msg.topic())
                continue
            topic, offset = msg.topic(), msg.offset()
            tp = (topic, msg.partition())
            if blocked and tp in blocked:
                continue
            if stop_at is not None and offset >= stop_at.get(tp, 1 << 62):
                blocked.add(tp)
                self._reached.add(tp)
                continue
            if topic in retry_topics and self._not_yet_due(msg):
                blocked.add(tp)
                continue
            todo.append(msg)
            next_offsets[tp] = offset + 1
        return todo, next_offsets

    def _apply_transactional(self, events: list[Event], pending: list, counts: dict) -> None:
        """All effects and inbox claims of the batch in one transaction.

        Fast path: claim every event id with one statement; if none was claimed before (the
        common case) run the handlers, no lookups, no savepoints. If some were (a redelivery),
        roll back and redo with one inbox lookup for the batch. If a handler fails, roll back
        and replay the batch record by record, each in a savepoint, so only the failing
        records are routed.
        """
        if not events:
            return
        try:
            try:
                with self.database.transaction() as tx:
                    handled = self._fast_batch(tx, events, look_up=False)
            except _SomeAlreadyApplied:
                with self.database.transaction() as tx:
                    handled = self._fast_batch(tx, events, look_up=True)
        except _HandlerFailed:
            with self.database.transaction() as tx:
                for event in events:
                    outcome = self._apply_in_savepoint(tx, event, pending)
                    counts[outcome] = counts.get(outcome, 0) + 1
            return
        if handled:
            counts["handled"] = handled
        if len(events) > handled:
            counts["duplicate"] = len(events) - handled

    def _fast_batch(self, tx: Transaction, events: list[Event], look_up: bool) -> int:
        done = self.inbox.already_applied(tx, [e.event_id for e in events]) if look_up else set()
        fresh: dict[str, Event] = {}
        for event in events:
            if event.event_id not in done:
                fresh.setdefault(event.event_id, event)  # twice in one batch applies once
        now_ms = int(time.time() * 1000)
        claimed = self.inbox.claim_many(
            tx, [(event_id, e.event_type, now_ms) for event_id, e in fresh.items()]
        )
        if claimed != len(fresh):
            raise _SomeAlreadyApplied()
        handle, group = self.handler.handle, self.group_id
        for event in fresh.values():
            tx.handling(event, group)
            try:
                handle(event, tx)
            except Exception as exc:
                raise _HandlerFailed() from exc
        return len(fresh)

    def _apply_in_savepoint(self, tx: Transaction, event: Event, pending: list) -> str:
        try:
            with tx.savepoint():
                if not self.inbox.claim(tx, event.event_id, event.event_type,
                                        int(time.time() * 1000)):
                    return "duplicate"
                tx.handling(event, self.group_id)
                self.handler.handle(event, tx)
        except Exception as exc:
            # Any handler failure is routed (retry topic or dead letters), never swallowed.
            self._failed(event, exc, pending)
            return "failed"
        return "handled"

    def _apply_external(self, event: Event, pending: list) -> str:
        try:
            if self.inbox.seen(event.event_id):
                return "duplicate"
            self.handler.handle(event, None)
            # Recorded at once: only a crash before this line can repeat the effect.
            self.inbox.record(event.event_id, event.event_type, int(time.time() * 1000))
        except Exception as exc:
            self._failed(event, exc, pending)
            return "failed"
        return "handled"

    def _failed(self, event: Event, exc: Exception, pending: list) -> None:
        self._log_failure(event, exc)
        reason = routing.REASON_PERMANENT if isinstance(exc, PermanentFailure) else None
        pending.append((event.message, exc, reason))

    def _log_failure(self, event: Event, exc: BaseException) -> None:
        self.metrics.failed(exc)
        logger.warning("%s: %s %s attempt %d failed: %s: %s", self.name, event.event_type,
                       event.event_id, event.attempt, type(exc).__name__, exc)

    def _route(self, msg: Message, error: BaseException, reason: str | None) -> bool:
        """Produce the failed record to its next hop; True if that is the dead-letter topic."""
        hop = routing.next_hop(msg, self.group_id, self.options.retry_delays_s, error,
                               reason=reason)
        if hop.dead_letter:
            logger.error("%s: dead-lettered %s[%s]@%s to %s: %s: %s", self.name, msg.topic(),
                         msg.partition(), msg.offset(), hop.topic, type(error).__name__, error)
        self._produce(hop.topic, hop.key, hop.value, hop.headers)
        return hop.dead_letter

    def _produce(self, topic, key, value, headers) -> None:
        # Local queue full: serve delivery reports until there is room (PipelineError if none
        # comes; the batch's offsets are not stored, so it is redelivered).
        produce_blocking(self._producer, topic, value, key=key, headers=headers,
                         on_delivery=self._on_delivery,
                         timeout_s=max(self.settings.timeout_s, 30.0))

    def _on_delivery(self, err, msg) -> None:
        if err is not None:
            refused = refusal(err, self.settings.kafka_conf(), topic=msg.topic(),
                              operation="Write")
            self._delivery_errors.append(str(refused) if refused else f"{msg.topic()}: {err}")

    def _flush(self) -> None:
        remaining = self._producer.flush(max(self.settings.timeout_s, 30.0))
        if remaining or self._delivery_errors:
            errors, self._delivery_errors = self._delivery_errors, []
            raise DeliveryFailed(
                f"{remaining} retry/dead-letter records unacknowledged, errors: {errors[:3]}; "
                "offsets of this batch were not stored, so it will be redelivered"
            )

    def _store(self, next_offsets: dict[tuple[str, int], int]) -> None:
        if not next_offsets:
            return
        try:
            self._consumer.store_offsets(
                offsets=[TopicPartition(t, p, o) for (t, p), o in next_offsets.items()]
            )
        except KafkaException as exc:
            # Fenced between poll and here: the effects are done and in the inbox, so the
            # redelivery that follows the consumer's replacement skips them.
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and _is_fatal(error):
                raise _ConsumerFailed(error) from exc
            raise
        self.result.positions.update(next_offsets)

    def _commit(self) -> None:
        try:
            self._consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                logger.warning("%s: commit failed: %s", self.name, exc)

    # -- retry delays -------------------------------------------------------------------------

    def _not_yet_due(self, msg: Message) -> bool:
        due = routing.due_at_ms(msg)
        now_ms = int(time.time() * 1000)
        if due is None or due <= now_ms:
            return False
        # Retry topics hold records in due order (one delay per topic): wait on the head record
        # without blocking any other partition.
        tp = TopicPartition(msg.topic(), msg.partition(), msg.offset())
        self._consumer.pause([tp])
        self._consumer.seek(tp)
        self._paused[(msg.topic(), msg.partition())] = due
        return True

    def _resume_due(self) -> None:
        if not self._paused:
            return
        now_ms = int(time.time() * 1000)
        due = [tp for tp, at in self._paused.items() if at <= now_ms]
        if due:
            self._consumer.resume([TopicPartition(t, p) for t, p in due])
            for tp in due:
                del self._paused[tp]

    # -- rebalance callbacks ------------------------------------------------------------------

    def assignment(self) -> set[tuple[str, int]]:
        """The partitions this worker holds (safe to call from another thread, unlike the
        consumer's own `assignment()`, which waits for the consuming thread)."""
        return set(self._assigned)

    def _on_assign(self, consumer, partitions) -> None:
        logger.info("%s: assigned %s", self.name, [(p.topic, p.partition) for p in partitions])
        self._assigned = self._assigned | {(p.topic, p.partition) for p in partitions}

    def _on_revoke(self, consumer, partitions) -> None:
        # Called between batches, so every stored offset belongs to a finished effect.
        self._commit()
        self._forget(partitions)

    def _on_lost(self, consumer, partitions) -> None:
        self._forget(partitions)

    def _forget(self, partitions) -> None:
        gone = {(p.topic, p.partition) for p in partitions}
        self._assigned = self._assigned - gone
        for tp in gone:
            self._paused.pop(tp, None)

    def _on_client_error(self, err: KafkaError) -> None:
        if _is_fatal(err):
            logger.error("%s: fatal client error: %s", self.name, err)
            self._client_failure = err  # the loop replaces the consumer (error_cb cannot)
        else:
            refused = refusal(err, self.settings.kafka_conf())
            logger.warning("%s: client error: %s", self.name, refused or err)

    def _on_consume_error(self, err: KafkaError, topic: str | None = None) -> None:
        refused = refusal(err, self.settings.kafka_conf(**{"group.id": self.group_id}),
                          topic=topic)
        if isinstance(refused, AuthorizationRefused):
            raise refused  # an ACL does not appear by retrying: stop, naming who, what and how
        if _is_fatal(err):
            raise _ConsumerFailed(err)
        # e.g. a subscribed topic that does not exist yet: librdkafka keeps retrying.
        logger.warning("%s: consume error: %s", self.name, err)

    # -- bounded runs -------------------------------------------------------------------------

    def _bounded_run_done(self) -> bool:
        pending = [tp for tp in self.stop_at if tp not in self._reached]
        if not pending:
            return True
        # The checks below ask the broker: at most once a second.
        now = time.monotonic()
        if now - self._last_bound_check < 1.0:
            return False
        self._last_bound_check = now
        tps = [TopicPartition(t, p) for t, p in pending]
        for tp in self._consumer.position(tps) if self._holds(tps) else []:
            end = self.stop_at[(tp.topic, tp.partition)]
            if tp.offset != OFFSET_INVALID and tp.offset >= end:
                self._reached.add((tp.topic, tp.partition))
        for (t, p), end in self.stop_at.items():
            if (t, p) in self._reached:
                continue
            done = self.result.positions.get((t, p))
            if done is not None and done >= end:
                self._reached.add((t, p))
                continue
            low, _high = self._consumer.get_watermark_offsets(
                TopicPartition(t, p), timeout=self.settings.timeout_s, cached=False
            )
            if end <= low:
                self._reached.add((t, p))
        return all(tp in self._reached for tp in self.stop_at)

    def _holds(self, tps: list[TopicPartition]) -> bool:
        return all((tp.topic, tp.partition) in self._assigned for tp in tps)


def _is_fatal(err: KafkaError) -> bool:
    # A fatal error reaches poll() as a record error with code _FATAL whose own fatal() flag
    # is not always set.
    return err.fatal() or err.code() == KafkaError._FATAL


def _normalise_stop_at(stop_at) -> dict[tuple[str, int], int] | None:
    if stop_at is None:
        return None
    if isinstance(stop_at, Mapping):
        return {(t, int(p)): int(o) for (t, p), o in stop_at.items()}
    return {(tp.topic, tp.partition): int(tp.offset) for tp in stop_at}


def run_worker(
    name: str,
    settings: ConnectionSettings,
    *,
    group_id: str | None = None,
    stop_at_offsets=None,
    topics: Sequence[str] | None = None,
    handler: Handler | None = None,
    options: WorkerOptions | None = None,
    database_url: str | None = None,
    paths: LocalPaths | None = None,
    stop_event: threading.Event | None = None,
    on_ready: Callable[[Worker], None] | None = None,
) -> WorkerResult:
    """Run one worker until stopped (see the module docstring). Raises PipelineError subclasses
    for known failures (unknown worker, unreachable broker/registry, bad settings)."""
    from consumers.handlers import make_handler

    options = options or WorkerOptions()
    # Django first: a handler module may import the project's models.
    url = database_for(settings, database_url, paths)
    if handler is None:
        handler = make_handler(name)
    worker = Worker(
        handler,
        settings,
        group_id=group_id or group_for(name),
        database_url=url,
        options=options,
        topics=topics,
        stop_at_offsets=_normalise_stop_at(stop_at_offsets),
        stop_event=stop_event,
        name=name,
    )
    if options.metrics_port:
        worker.metrics.serve(options.metrics_port, options.metrics_host)
    restore = install_signal_handlers(worker.stop_event)
    try:
        return worker.run(on_ready)
    finally:
        restore()


def database_for(settings: ConnectionSettings, database_url: str | None = None,
                 paths: LocalPaths | None = None) -> str:
    """Set Django up for a worker of the current project and return the worker's database
    URL: `database_url`, else DATABASE_URL, else the project's Django default database, else
    the SQLite file in the local stack's home (see `consumers.django_setup`)."""

    def _local_file() -> str:
        local = paths or paths_from_env()
        Path(local.home).mkdir(parents=True, exist_ok=True)
        return default_database_url(settings, local)

    return django_setup.prepare(projects.current(), database_url or settings.database_url,
                                _local_file)


def install_signal_handlers(stop_event: threading.Event) -> Callable[[], None]:
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}

    def _stop(signum, frame):
        logger.info("signal %s: finishing the batch, committing, closing", signum)
        stop_event.set()

    for sig in _SIGNALS:
        signal.signal(sig, _stop)

    def restore():
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
