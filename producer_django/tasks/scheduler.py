"""The scheduler: enqueues the project's periodic tasks (`[tool.event-pipeline.schedule]`).

Run it anywhere, as many copies as you like (`pipeline scheduler`; `pipeline up` starts one):
each tick of each entry is enqueued exactly once. Per entry, `tasks_schedule` holds the last
tick enqueued; a scheduler enqueues tick T by advancing it from below T to T (a
compare-and-set), in the transaction that writes the request to the outbox, so only one
copy succeeds and a crash leaves both or neither. The request's id is derived from the entry
and T, so the same tick always has the same id.

Missed ticks: ticks that fell while no scheduler ran are not replayed in a burst; on start
the latest of them is enqueued once (if it was not yet), then the schedule goes on. A new
entry starts with its next tick.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path

from django.db import connections, transaction

from producer_django.tasks.conf import database_alias
from producer_django.tasks.enqueue import enqueue
from producer_django.tasks.request import TaskRequest
from producer_django.tasks.task import first_queue, registered
from schemas import project as projects
from schemas.errors import ConfigError

logger = logging.getLogger(__name__)

TICK_NAMESPACE = uuid.UUID("0b7f7f5e-4a51-5d8e-9c3b-6a1f2e3d4c5b")
MAX_SLEEP_S = 1.0
_ADVANCE = "UPDATE tasks_schedule SET last_tick_ms = %s WHERE entry = %s AND last_tick_ms < %s"
_CREATE = (
    "INSERT INTO tasks_schedule (entry, last_tick_ms) VALUES (%s, %s) "
    "ON CONFLICT (entry) DO NOTHING"
)


def tick_id(entry: str, tick_ms: int) -> str:
    return str(uuid.uuid5(TICK_NAMESPACE, f"{entry}@{tick_ms}"))


class Scheduler:
    def __init__(self, project: projects.Project | None = None, *, producer: str = "scheduler",
                 heartbeat: Path | None = None):
        self.project = project or projects.current()
        self.entries = dict(self.project.schedule)
        self.alias = database_alias()
        self.producer = producer
        self.heartbeat = heartbeat
        # Per entry: the last tick this process has dealt with.
        self._seen: dict[str, int] = {}
        self.enqueued = 0

    def start(self, now_ms: int | None = None) -> None:
        """Create the entries' rows; enqueue the latest missed tick of existing ones once."""
        self._require_tables()
        now_ms = now_ms if now_ms is not None else _now_ms()
        for name, spec in self.entries.items():
            if registered(spec.task) is None:
                logger.warning("schedule %s: task %s is not registered in this process; the "
                               "worker reports it if it is unknown there too", name, spec.task)
            latest = spec.latest_tick_ms(now_ms)
            with transaction.atomic(using=self.alias), \
                    connections[self.alias].cursor() as cursor:
                cursor.execute(_CREATE, [name, latest])
                if cursor.rowcount != 1:
                    self._fire(cursor, name, spec, latest)
            self._seen[name] = latest

    def _require_tables(self) -> None:
        tables = set(connections[self.alias].introspection.table_names())
        missing = sorted({"tasks_schedule", "events_outbox"} - tables)
        if missing:
            raise ConfigError(
                f"database {self.alias!r} has no table {', '.join(missing)}; add "
                "producer_django.events and producer_django.tasks to INSTALLED_APPS and run "
                "`python manage.py migrate` (or `pipeline manage migrate`)"
            )

    def run_once(self, now_ms: int | None = None) -> int:
        """Enqueue every tick due since the last pass; returns how many this copy enqueued."""
        now_ms = now_ms if now_ms is not None else _now_ms()
        fired = 0
        for name, spec in self.entries.items():
            for tick in spec.ticks_after(self._seen[name], now_ms):
                with transaction.atomic(using=self.alias), \
                        connections[self.alias].cursor() as cursor:
                    fired += self._fire(cursor, name, spec, tick)
                self._seen[name] = tick
        if self.heartbeat is not None:
            self.heartbeat.touch()
        return fired

    def run(self, stop: threading.Event) -> None:
        self.start()
        logger.info("scheduler: %d entries: %s", len(self.entries), ", ".join(self.entries))
        while not stop.is_set():
            self.run_once()
            stop.wait(self._sleep_s())

    def _fire(self, cursor, name: str, spec, tick: int) -> int:
        cursor.execute(_ADVANCE, [tick, name, tick])
        if cursor.rowcount != 1:
            return 0  # another scheduler enqueued it, or a later tick
        task_id = tick_id(name, tick)
        enqueue(TaskRequest(task_id=task_id, task=spec.task, args=list(spec.args),
                            kwargs=dict(spec.kwargs), queue=_queue_of(spec.task)),
                event_id=task_id, correlation_id=task_id, producer=self.producer,
                using=self.alias)
        self.enqueued += 1
        logger.info("schedule %s: enqueued %s for tick %d", name, spec.task, tick)
        return 1

    def _sleep_s(self) -> float:
        # Often enough to meet the shortest interval on time.
        steps = [spec.interval_ms / 4000 for spec in self.entries.values() if spec.interval_ms]
        return max(0.05, min([MAX_SLEEP_S, *steps]))


def _queue_of(task_name: str) -> str:
    found = registered(task_name)
    return found.default_queue if found is not None else first_queue()


def _now_ms() -> int:
    return int(time.time() * 1000)
