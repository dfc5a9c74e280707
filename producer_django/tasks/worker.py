"""The tasks worker: a handler for the consumer-group worker runtime (`pipeline worker tasks`).

It is declared implicitly when the project uses tasks (`schemas.project`): worker `tasks`, or
`tasks-<queue>` per queue, consuming `tasks.<queue>`. It manages its own Django transaction
(`transactional = False` for the runtime), because task functions write through the ORM.
Per request, in one transaction on the outbox's database:

    claim the request's event id in the group's inbox (a redelivery finds it and stops)
    run the task in a savepoint (a failed attempt leaves no database effect)
    record the result; enqueue what follows (next chain step, chord callback when the chord's
    counter reaches its size) or, on a failure to retry, the next attempt with its delay

so a crash anywhere commits all of it or none. A request that is not due yet (an `eta` met
early) is put back with its due time. A task that failed its last attempt is recorded as
FAILURE and raised as PermanentFailure, and the runtime sends the request to the group's
dead-letter topic (`pipeline dlq redrive worker-tasks` runs it again after a fix); so are
requests that can never run (unknown task, arguments that are not JSON, a task module that
failed to import).
"""

from __future__ import annotations

import logging
import time
import traceback as tb

from django.db import DatabaseError, connections, transaction

from producer_django.tasks import discovery, results
from producer_django.tasks.canvas import request_for
from producer_django.tasks.conf import database_alias, tasks_settings
from producer_django.tasks.enqueue import enqueue
from producer_django.tasks.errors import (
    BadTaskRequest,
    TaskArgumentsError,
    TaskModuleBroken,
    UnknownTask,
)
from producer_django.tasks.metrics import TaskMetrics
from producer_django.tasks.request import TaskRequest, to_json
from producer_django.tasks.task import Task, registered, registered_names
from schemas import project as projects

# The runtime's "dead-letter it now" signal (the tasks worker is a consumers plug-in).
from schemas.errors import PermanentFailure
from schemas.ids import derived_event_id

logger = logging.getLogger(__name__)

# The inbox of consumers.inbox, written here in the task's own transaction.
_CLAIM = (
    "INSERT INTO consumer_inbox (consumer_group, event_id, event_type, processed_at_ms) "
    "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
)
_EXPIRY_EVERY_S = 60.0


class _LastAttemptFailed(Exception):
    def __init__(self, error: BaseException, trace: str):
        super().__init__(str(error))
        self.error = error
        self.trace = trace


class TaskWorker:
    transactional = False
    # The request's event id goes into the inbox in the task's own transaction (_claim), so the
    # runtime skips its own inbox look-up and record.
    claims_inbox = True

    def __init__(self, name: str = "tasks", queues=(projects.DEFAULT_QUEUE,)):
        self.name = name
        self.queues = tuple(queues)
        self.topics = tuple(projects.task_topic(q) for q in self.queues)
        self.group = f"worker-{name}"
        self.alias = "default"
        self.broken: dict[str, str] = {}
        self.metrics = TaskMetrics()
        self._next_expiry = 0.0

    def open(self, context) -> None:
        self.group = f"worker-{context.name}"
        self.alias = database_alias()
        self.broken = discovery.load(projects.current())
        worker_metrics = getattr(context, "metrics", None)
        if worker_metrics is not None:
            self.metrics = TaskMetrics(worker_metrics.registry)
        logger.info("%s: %d tasks registered, queues %s", self.name, len(registered_names()),
                    list(self.queues))

    def close(self) -> None:
        connections[self.alias].close()

    # -- one request ----------------------------------------------------------------------------

    def handle(self, event, tx=None) -> None:
        request = None
        try:
            request = TaskRequest.from_record(event.data)
            if request.eta_ms is not None and request.eta_ms > time.time() * 1000:
                self._postpone(event, request)
                return
            task = self._task(request.task)
        except (BadTaskRequest, UnknownTask, TaskModuleBroken) as exc:
            self._record_failure(event, request or TaskRequest.identity(event.data), exc, "")
            raise PermanentFailure(str(exc)) from exc
        try:
            self._run(event, request, task)
        except _LastAttemptFailed as failed:
            self._record_failure(event, request, failed.error, failed.trace)
            raise PermanentFailure(
                f"task {task.name} {request.task_id} failed on attempt {request.attempt} of "
                f"{task.max_retries + 1}: {type(failed.error).__name__}: {failed.error}"
            ) from failed.error
        finally:
            self._expire_now_and_then()

    def _task(self, name: str) -> Task:
        found = registered(name)
        if found is not None:
            return found
        for module, error in self.broken.items():
            if name.startswith(module + "."):
                raise TaskModuleBroken(
                    f"task {name!r}: its module {module} failed to import in this worker "
                    f"({error}); fix it, restart the worker, then `pipeline dlq redrive "
                    f"{self.group}`"
                )
        raise UnknownTask(
            f"no task named {name!r} in worker {self.name}; registered: "
            f"{', '.join(registered_names()) or '(none)'}. Declare its module in tasks = [...] "
            f"or put it in the tasks.py of an installed app, then `pipeline dlq redrive "
            f"{self.group}`"
        )

    def _run(self, event, request: TaskRequest, task: Task) -> None:
        connection = connections[self.alias]
        if task.track_started:
            with transaction.atomic(using=self.alias), connection.cursor() as cursor:
                results.record(cursor, connection, request, results.STARTED,
                               chord=_chord(request))
        with transaction.atomic(using=self.alias), connection.cursor() as cursor:
            if not self._claim(cursor, event):
                return
            started = time.monotonic()
            try:
                with transaction.atomic(using=self.alias):  # savepoint: a failed run undone
                    value = task.fn(*request.args, **request.kwargs)
                    result_json = to_json(value, f"the result of {task.name}")
            except Exception as exc:
                self.metrics.duration.labels(task.name).observe(time.monotonic() - started)
                trace = tb.format_exc()
                if isinstance(exc, TaskArgumentsError) or not task.retries_on(exc,
                                                                             request.attempt):
                    raise _LastAttemptFailed(exc, trace) from exc
                self._retry(cursor, connection, event, request, task, exc, trace)
                return
            self.metrics.duration.labels(task.name).observe(time.monotonic() - started)
            results.record(cursor, connection, request, results.SUCCESS,
                           result_json=result_json, chord=_chord(request))
            self._advance(cursor, connection, event, request, value)
            self.metrics.succeeded.labels(task.name).inc()

    def _claim(self, cursor, event) -> bool:
        cursor.execute(_CLAIM, [self.group, event.event_id, event.event_type,
                                int(time.time() * 1000)])
        return cursor.rowcount == 1

    def _retry(self, cursor, connection, event, request, task, exc, trace) -> None:
        delay_s = task.retry_delay_s(request.attempt)
        logger.warning("%s: %s %s attempt %d failed (%s: %s); retrying in %g s", self.name,
                       task.name, request.task_id, request.attempt, type(exc).__name__, exc,
                       delay_s)
        results.record(cursor, connection, request, results.RETRY, traceback=trace,
                       chord=_chord(request))
        self._follow_up(event, request.next_attempt(int((time.time() + delay_s) * 1000)))
        self.metrics.retried.labels(task.name).inc()

    def _advance(self, cursor, connection, event, request: TaskRequest, value) -> None:
        """Enqueue what follows a successful step: the next step of its chain, or the chord's
        callback when this was the chord's last member to finish."""
        workflow = request.workflow or {}
        rest = workflow.get("chain")
        if rest:
            following = {"chain": rest[1:]} if rest[1:] else None
            self._follow_up(event, request_for(rest[0], root_id=request.root_id,
                                               workflow=following, first_arg=value,
                                               has_first_arg=True))
        chord = workflow.get("chord")
        if chord:
            values = results.chord_member_done(cursor, connection, chord)
            if values is not None:
                self._follow_up(event, request_for(chord["callback"], root_id=chord["id"],
                                                   first_arg=values, has_first_arg=True))

    def _postpone(self, event, request: TaskRequest) -> None:
        """Met before its due time (clocks differ): back to the outbox until then."""
        with transaction.atomic(using=self.alias), connections[self.alias].cursor() as cursor:
            if self._claim(cursor, event):
                self._follow_up(event, request)

    def _follow_up(self, event, request: TaskRequest) -> None:
        # One follow-up per handled request, with an id derived from it: a redelivery that got
        # past the inbox (it cannot, but a replay into a fresh group can) yields the same id.
        enqueue(request, event_id=derived_event_id(event.event_id, projects.TASK_EVENT, 0),
                correlation_id=str(event.data.get("correlation_id") or event.event_id),
                causation_id=event.event_id, producer=self.group, using=self.alias)

    def _record_failure(self, event, request: TaskRequest, error: BaseException,
                        trace: str) -> None:
        self.metrics.failed.labels(request.task).inc()
        trace = trace or f"{type(error).__name__}: {error}"
        connection = connections[self.alias]
        with transaction.atomic(using=self.alias), connection.cursor() as cursor:
            results.record(cursor, connection, request, results.FAILURE, traceback=trace,
                           chord=_chord(request))
            chord = _chord(request)
            if chord:
                # The callback will never run: say so where its caller waits.
                callback = request_for(chord["callback"], root_id=chord["id"])
                results.record(cursor, connection, callback, results.FAILURE, traceback=(
                    f"chord {chord['id']}: member {chord['index']} ({request.task} "
                    f"{request.task_id}) failed:\n{trace}"))

    def _expire_now_and_then(self) -> None:
        now = time.monotonic()
        if now < self._next_expiry:
            return
        self._next_expiry = now + _EXPIRY_EVERY_S
        try:
            results.expire(self.alias, tasks_settings()["RESULT_EXPIRES_S"])
        except DatabaseError as exc:  # busy database: the next pass tries again
            logger.warning("%s: expiring old results failed: %s", self.name, exc)


def _chord(request: TaskRequest) -> dict | None:
    return (request.workflow or {}).get("chord")
