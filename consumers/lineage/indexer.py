"""The lineage indexer: the worker runtime (`consumers.runtime.Worker`) with two handlers.

- `EventIndexer`, consumer group `lineage`: every topic of the project's catalog; each event's
  ids, type and position go into `pipeline_lineage` (`consumers.lineage.store`).
- `EffectIndexer`, consumer group `lineage-effects`: the declared workers' and stream apps'
  dead-letter and retry topics (`<group>.dlq`, `<group>.retry.N`, one regex subscription, so
  topics created later are picked up); each record becomes an effect of its origin event
  (`dead-lettered` or `retried`, with the group, time and error from its headers).

Both are transactional: a batch's rows commit with its offsets stored after, like any worker.
The handlers claim their own inbox (`claims_inbox`): the lineage tables' primary keys make a
redelivered record a no-op, and an inbox would store every event id a second time, unbounded.
The effects run one record per batch because the runtime keeps one record per event id in a
batch: the retries and the dead letter of one event must all be recorded.

Run `run_indexer` (or `pipeline lineage run`); `pipeline up` starts it as component `lineage`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from consumers import routing
from consumers.db import Transaction
from consumers.dlq import declared_groups
from consumers.lineage import metrics as lineage_metrics
from consumers.lineage import store
from consumers.lineage.settings import LineageSettings
from consumers.message import Event, header
from consumers.options import WorkerOptions
from consumers.runtime import Worker, database_for, install_signal_handlers
from schemas import catalog
from schemas.config import ConnectionSettings, LocalPaths

logger = logging.getLogger(__name__)

GROUP = "lineage"
EFFECTS_GROUP = f"{GROUP}-effects"


def _millis(value) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(value or 0)


class EventIndexer:
    """Records each catalog event; prunes the tables every `prune_interval_s`."""

    name = GROUP
    transactional = True
    claims_inbox = True  # the tables' primary keys deduplicate

    def __init__(self, topics: list[str], settings: LineageSettings | None = None,
                 metrics: lineage_metrics.LineageMetrics | None = None):
        self.topics = list(topics)
        self.settings = settings or LineageSettings()
        self.metrics = metrics or lineage_metrics.LineageMetrics()
        self._next_prune = 0.0

    def open(self, context) -> None:
        store.create(context.database)

    def handle(self, event: Event, tx: Transaction) -> None:
        msg, data = event.message, event.data
        kind, timestamp_ms = msg.timestamp()
        if kind == 0 or timestamp_ms <= 0:  # no broker timestamp: when the event occurred
            timestamp_ms = _millis(data.get("occurred_at"))
        row = (
            event.event_id, event.event_type, msg.topic(), msg.partition(), msg.offset(),
            timestamp_ms, _text(data.get("aggregate_id")), _text(data.get("correlation_id")),
            _text(data.get("causation_id")), _text(data.get("producer")),
        )
        if store.insert_event(tx, row):
            self.metrics.events.inc()
        if time.monotonic() >= self._next_prune:
            self._prune(tx)

    def _prune(self, tx: Transaction) -> None:
        started = time.monotonic()
        pruned = store.prune(tx, self.settings, int(time.time() * 1000))
        self.metrics.prune_seconds.observe(time.monotonic() - started)
        self.metrics.pruned.labels(table=store.EVENTS).inc(pruned.events)
        self.metrics.pruned.labels(table=store.EFFECTS).inc(pruned.effects)
        # A full prune batch: more is due, go on with the next batch.
        self._next_prune = 0.0 if pruned.more else time.monotonic() + self.settings.prune_interval_s
        if pruned.events or pruned.effects:
            logger.info("lineage: pruned %d events, %d effects", pruned.events, pruned.effects)

    def close(self) -> None:
        """No resources of its own."""


class EffectIndexer:
    """Records each dead letter and retry hop as an effect of its origin event."""

    name = EFFECTS_GROUP
    transactional = True
    claims_inbox = True  # the tables' primary keys deduplicate

    def __init__(self, groups: list[str],
                 metrics: lineage_metrics.LineageMetrics | None = None):
        self.groups = list(groups)
        self.topics = [effect_topics_pattern(self.groups)]
        self.metrics = metrics or lineage_metrics.LineageMetrics()

    def open(self, context) -> None:
        store.create(context.database)

    def handle(self, event: Event, tx: Transaction) -> None:
        row = effect_row(event)
        if store.insert_effect(tx, row):
            self.metrics.effects.labels(outcome=row[2]).inc()

    def close(self) -> None:
        """No resources of its own."""


def effect_topics_pattern(groups: list[str]) -> str:
    """One librdkafka regex for the groups' dead-letter and retry topics (group names are
    letters, digits, - and _; a dot is written [.], which every regex engine reads alike)."""
    names = "|".join(g.replace(".", "[.]") for g in groups)
    return f"^({names})[.](dlq|retry[.][0-9]+)$"


def effect_row(event: Event) -> tuple:
    """The `store.EFFECT_COLUMNS` row of a dead-letter or retry record."""
    msg = event.message
    topic = msg.topic() or ""
    dead = topic.endswith(".dlq")
    group = header(msg, routing.H_GROUP) or topic.rsplit(".dlq" if dead else ".retry.", 1)[0]
    error = ": ".join(
        part for part in (header(msg, routing.H_ERROR_TYPE), header(msg, routing.H_ERROR_MESSAGE))
        if part
    )
    if dead:
        reason = header(msg, routing.H_REASON) or "dead-lettered"
        detail = f"{reason}: {error}" if error else reason
    else:
        detail = f"attempt {routing.attempts_so_far(msg)}: {error}".rstrip(": ")
    at_ms = msg.timestamp()[1]
    return (event.event_id, group, store.DEAD_LETTERED if dead else store.RETRIED,
            at_ms if at_ms and at_ms > 0 else int(time.time() * 1000), detail)


def _text(value) -> str | None:
    return None if value is None else str(value)


def build_workers(
    settings: ConnectionSettings,
    database_url: str,
    *,
    lineage: LineageSettings | None = None,
    stop_event: threading.Event | None = None,
    instance_id: str | None = None,
    batch_size: int = 500,
    group: str = GROUP,
) -> tuple[list[Worker], lineage_metrics.LineageMetrics]:
    """The indexer's workers (events, then effects if the project declares any group), in
    consumer groups `group` and `<group>-effects`, writing to `database_url` as it is."""
    metrics = lineage_metrics.LineageMetrics()
    stop_event = stop_event or threading.Event()
    options = WorkerOptions(retry_delays_s=(), batch_size=batch_size, instance_id=instance_id)
    handlers = [(EventIndexer(catalog.topics(), lineage, metrics), group, options)]
    groups = declared_groups()
    if groups:
        one_by_one = options.replace(
            batch_size=1, instance_id=f"{instance_id}-effects" if instance_id else None
        )
        handlers.append((EffectIndexer(groups, metrics), f"{group}-effects", one_by_one))
    workers = [
        index_worker(handler, settings, database_url, group=group_id, options=worker_options,
                     stop_event=stop_event)
        for handler, group_id, worker_options in handlers
    ]
    return workers, metrics


def index_worker(handler, settings: ConnectionSettings, database_url: str, *, group: str,
                 options: WorkerOptions, worker_class: type[Worker] = Worker,
                 **kwargs) -> Worker:
    """A runtime worker for one of the indexer's handlers (`worker_class` and `kwargs`: e.g. a
    benchmark's bounded worker)."""
    return worker_class(handler, settings, group_id=group, database_url=database_url,
                        options=options, name=group, **kwargs)


def run_indexer(
    settings: ConnectionSettings,
    *,
    database_url: str | None = None,
    lineage: LineageSettings | None = None,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
    instance_id: str | None = None,
    paths: LocalPaths | None = None,
    stop_event: threading.Event | None = None,
    on_ready: Callable[[], None] | None = None,
    group: str = GROUP,
) -> dict[str, dict[str, int]]:
    """Run the indexer until SIGTERM/SIGINT or `stop_event`; returns the counts per group.
    The tables go to `store.lineage_url` of the workers' database
    (`consumers.runtime.database_for`); `group` names the consumer groups (a second index of
    the same cluster needs its own)."""
    url = store.lineage_url(database_for(settings, database_url, paths))
    stop_event = stop_event or threading.Event()
    workers, metrics = build_workers(settings, url, lineage=lineage, stop_event=stop_event,
                                     instance_id=instance_id, group=group)
    server = None
    if metrics_port:
        server = lineage_metrics.serve(
            [metrics.registry] + [w.metrics.registry for w in workers], metrics_port,
            metrics_host,
        )
    failures: list[BaseException] = []
    ready = threading.Semaphore(0)

    def _run(worker: Worker) -> None:
        try:
            worker.run(lambda _w: ready.release())
        except BaseException as exc:  # noqa: BLE001 - re-raised by the main thread
            failures.append(exc)
            ready.release()
            stop_event.set()

    restore = install_signal_handlers(stop_event)
    threads = [threading.Thread(target=_run, args=(w,), name=w.group_id, daemon=True)
               for w in workers]
    try:
        for thread in threads:
            thread.start()
        for _ in threads:
            ready.acquire()
        if on_ready is not None and not failures:
            on_ready()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)
    finally:
        stop_event.set()
        for thread in threads:
            thread.join()
        restore()
        lineage_metrics.stop(server)
    if failures:
        raise failures[0]
    return {w.group_id: dict(w.result.counts) for w in workers}
