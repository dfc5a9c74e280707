"""`@task` and signatures: the Celery idioms `.delay()`, `.apply_async()`, `.s()`, `.si()`.

A task's name is `module.function` (Celery's default); the worker finds it in the registry
filled when task modules are imported (`producer_django.tasks.discovery`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from producer_django.tasks.errors import TaskError
from schemas import project as projects

DEFAULT_RETRY_DELAYS_S = (1.0, 10.0, 60.0)

_registry: dict[str, Task] = {}


class Task:
    """A function that runs in the tasks worker. Calling it runs it here, like Celery."""

    def __init__(self, fn: Callable, *, name: str | None = None, queue: str | None = None,
                 retry_delays: Sequence[float] | None = None,
                 autoretry_for: Sequence[type[BaseException]] | None = None,
                 max_retries: int | None = None, track_started: bool = False):
        self.fn = fn
        self.name = name or f"{fn.__module__}.{fn.__qualname__}"
        self.queue = queue
        self.retry_delays = tuple(float(d) for d in (retry_delays or ()))
        if any(d < 0 for d in self.retry_delays):
            raise TaskError(f"@task {self.name}: retry_delays must be >= 0 seconds")
        self.autoretry_for = tuple(autoretry_for or (Exception,))
        if max_retries is None:
            max_retries = len(self.retry_delays) if retry_delays else (
                len(DEFAULT_RETRY_DELAYS_S) if autoretry_for else 0)
        self.max_retries = int(max_retries)
        self.track_started = track_started
        self.__doc__ = fn.__doc__
        self.__name__ = getattr(fn, "__name__", self.name)
        self.__module__ = fn.__module__

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<@task {self.name}>"

    @property
    def default_queue(self) -> str:
        return self.queue or first_queue()

    def s(self, *args, **kwargs) -> Signature:
        """A partial call: in a chain it receives the previous result as first argument."""
        return Signature(self.name, list(args), dict(kwargs), queue=self.queue)

    def si(self, *args, **kwargs) -> Signature:
        """An immutable signature: it ignores the previous result in a chain."""
        return Signature(self.name, list(args), dict(kwargs), queue=self.queue, immutable=True)

    def delay(self, *args, **kwargs):
        return self.apply_async(args, kwargs)

    def apply_async(self, args: Sequence | None = None, kwargs: dict | None = None, *,
                    countdown: float | None = None, eta: datetime | None = None,
                    queue: str | None = None, task_id: str | None = None):
        """Enqueue through the outbox (inside the caller's transaction when there is one).
        `countdown` (seconds) or `eta` (an aware datetime): not run before then."""
        return Signature(self.name, list(args or ()), dict(kwargs or {}),
                         queue=queue or self.queue).apply_async(countdown=countdown, eta=eta,
                                                                task_id=task_id)

    # -- retries ------------------------------------------------------------------------------

    def retries_on(self, exc: BaseException, attempt: int) -> bool:
        return attempt <= self.max_retries and isinstance(exc, self.autoretry_for)

    def retry_delay_s(self, attempt: int) -> float:
        """The wait before attempt `attempt + 1` (the last delay repeats)."""
        delays = self.retry_delays or DEFAULT_RETRY_DELAYS_S
        return delays[min(attempt, len(delays)) - 1]


def task(fn: Callable | None = None, **options) -> Task | Callable[[Callable], Task]:
    """`@task` or `@task(queue=, retry_delays=, autoretry_for=, max_retries=, track_started=)`.

    Retries: an exception of `autoretry_for` (default: any) is retried `max_retries` times
    (default: as many as `retry_delays`; none when neither is given), waiting
    `retry_delays[n-1]` seconds before attempt n+1; after that the task is FAILURE and its
    request goes to the worker's dead-letter topic."""
    unknown = sorted(set(options) - {"name", "queue", "retry_delays", "autoretry_for",
                                     "max_retries", "track_started"})
    if unknown:
        raise TaskError(f"@task got unknown options {unknown}; known: name, queue, retry_delays, "
                        "autoretry_for, max_retries, track_started")

    def register(function: Callable) -> Task:
        made = Task(function, **options)
        _registry[made.name] = made
        return made

    return register(fn) if fn is not None else register


def first_queue() -> str:
    """Where a task without `queue=` goes: the project's first declared queue."""
    queues = projects.current().task_queues
    return queues[0] if queues else projects.DEFAULT_QUEUE


def registered(name: str) -> Task | None:
    return _registry.get(name)


def registered_names() -> list[str]:
    return sorted(_registry)


@dataclass
class Signature:
    """A task call to make later: the unit of chain, group and chord."""

    task: str
    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)
    queue: str | None = None
    immutable: bool = False

    def step(self, task_id: str | None = None) -> dict[str, Any]:
        """The JSON form a workflow carries, with its result id fixed now."""
        step = {"task": self.task, "args": list(self.args), "kwargs": dict(self.kwargs),
                "queue": self.queue or first_queue(),
                "task_id": task_id or str(uuid.uuid4())}
        if self.immutable:
            step["immutable"] = True
        return step

    def __or__(self, other):
        from producer_django.tasks.canvas import chain

        return chain(self, other)

    def delay(self, *args, **kwargs):
        return self.clone(args, kwargs).apply_async()

    def clone(self, args=(), kwargs=None) -> Signature:
        return Signature(self.task, [*self.args, *args], {**self.kwargs, **(kwargs or {})},
                         self.queue, self.immutable)

    def apply_async(self, *, countdown: float | None = None, eta: datetime | None = None,
                    task_id: str | None = None):
        from producer_django.tasks.canvas import start

        return start(self.step(task_id), eta_ms=eta_ms(countdown, eta))


def eta_ms(countdown: float | None, eta: datetime | None) -> int | None:
    if countdown is not None and eta is not None:
        raise TaskError("give countdown or eta, not both")
    if countdown is not None:
        return int((time.time() + float(countdown)) * 1000)
    if eta is not None:
        if eta.tzinfo is None:
            raise TaskError(f"eta={eta!r} has no time zone; pass an aware datetime "
                            "(django.utils.timezone.now() + timedelta(...))")
        return int(eta.timestamp() * 1000)
    return None
