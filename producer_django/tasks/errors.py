"""Errors of background tasks.

TaskError (PipelineError)
├── TaskArgumentsError   arguments or result that JSON cannot carry (names the value)
├── UnknownTask          a request names no registered task (lists the known ones)
├── TaskModuleBroken     the module of the requested task failed to import (names the error)
├── BadTaskRequest       a request whose fields cannot be read (args not JSON, ...)
├── UndeclaredQueue      a task sent to a queue the project does not declare
├── ResultInTransaction  AsyncResult.get() inside the transaction that enqueued the task
├── TaskTimeout          AsyncResult.get(timeout=) ran out (also a TimeoutError)
└── TaskFailed           AsyncResult.get() of a task that failed (carries its traceback)

UnknownTask, TaskModuleBroken and BadTaskRequest can never succeed as they are: the worker
sends such a request to its dead-letter topic at once (`pipeline dlq show|redrive`).
"""

from __future__ import annotations

from schemas.errors import PipelineError


class TaskError(PipelineError):
    """Base class of the errors of background tasks."""


class TaskArgumentsError(TaskError, TypeError):
    """Arguments (or a result) that are not JSON-serialisable."""


class UnknownTask(TaskError):
    """No task of that name is registered in the worker."""


class TaskModuleBroken(TaskError):
    """The task's module raised while it was imported."""


class BadTaskRequest(TaskError):
    """A request whose fields cannot be read."""


class UndeclaredQueue(TaskError):
    """A task was sent to a queue that `task_queues` does not list."""


class ResultInTransaction(TaskError):
    """Waiting for a result inside the transaction that enqueued the task."""


class TaskTimeout(TaskError, TimeoutError):
    """The task did not finish within the timeout given to `get`."""


class TaskFailed(TaskError):
    """The task failed after its last attempt; `.traceback` holds the worker's traceback."""

    def __init__(self, message: str, traceback: str = ""):
        super().__init__(message)
        self.traceback = traceback
