"""Background tasks on Kafka, for Django developers coming from Celery.

    from producer_django.tasks import task, chain, group, chord, AsyncResult

    @task
    def add(x, y):
        return x + y

    with transaction.atomic():
        result = add.delay(2, 3)        # a TaskRequested event in the outbox: it exists iff
                                        # the transaction commits
    result.get(timeout=30)              # 5, from the result table

A request is the built-in `TaskRequested` event on the topic of its queue (`tasks.<queue>`);
the `tasks` worker (`producer_django.tasks.worker`) runs on the consumer-group worker runtime.
Each run, its result, its retry or next step, and its database effects commit in one Django
transaction with the request's inbox row, so a crash can neither lose nor double a step.
Importing this package touches neither Django's models nor the network.
"""

from producer_django.tasks.canvas import chain, chord, group
from producer_django.tasks.errors import TaskError, TaskFailed
from producer_django.tasks.results import AsyncResult, GroupResult
from producer_django.tasks.task import Signature, Task, task

__all__ = [
    "AsyncResult", "GroupResult", "Signature", "Task", "TaskError", "TaskFailed", "chain",
    "chord", "group", "task",
]
