"""chain, group and chord: workflows whose next step is enqueued by the worker that finished
the previous one, in the transaction that records its result (`producer_django.tasks.worker`).

Every result id is fixed when the workflow starts, so the caller gets them at once:
`chain(...).delay()` returns the last step's AsyncResult (its `.parent` is the step before),
`group(...).delay()` a GroupResult in order, `chord(...).delay()` the callback's AsyncResult.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from producer_django.tasks.errors import TaskError
from producer_django.tasks.request import TaskRequest
from producer_django.tasks.results import AsyncResult, GroupResult
from producer_django.tasks.task import Signature


def start(step: dict, *, eta_ms: int | None = None, root_id: str | None = None,
          workflow: dict | None = None) -> AsyncResult:
    """Enqueue the first request of a workflow (`step` in the JSON form of Signature.step)."""
    from producer_django.tasks.enqueue import enqueue

    enqueue(request_for(step, root_id=root_id, eta_ms=eta_ms, workflow=workflow))
    return AsyncResult(step["task_id"])


def request_for(step: dict, *, root_id: str | None = None, eta_ms: int | None = None,
                workflow: dict | None = None, first_arg=None, has_first_arg: bool = False
                ) -> TaskRequest:
    args = list(step["args"])
    if has_first_arg and not step.get("immutable"):
        args.insert(0, first_arg)
    rest = step.get("chain")
    if rest:
        workflow = {**(workflow or {}), "chain": rest}
    return TaskRequest(
        task_id=step["task_id"], task=step["task"], args=args, kwargs=step["kwargs"],
        queue=step["queue"], root_id=root_id or step["task_id"], eta_ms=eta_ms,
        workflow=workflow or None,
    )


def _signature(item, where: str) -> Signature:
    if not isinstance(item, Signature):
        raise TaskError(
            f"{where} takes task signatures (add.s(1, 2)), got {item!r}; nesting a group or a "
            "chord inside it is not supported"
        )
    return item


class chain:  # noqa: N801 - Celery's name
    """chain(add.s(1, 2), mul.s(10)): each step gets the previous result as first argument."""

    def __init__(self, *steps):
        if len(steps) == 1 and not isinstance(steps[0], Signature):
            steps = tuple(steps[0])
        if not steps:
            raise TaskError("chain() needs at least one signature")
        self.steps = [_signature(s, "chain()") for s in steps]

    def __or__(self, other):
        return chain(*self.steps, other)

    def delay(self, *args, **kwargs) -> AsyncResult:
        first, *rest = self.steps
        return chain(first.clone(args, kwargs), *rest).apply_async()

    def apply_async(self, *, countdown=None, eta=None) -> AsyncResult:
        from producer_django.tasks.task import eta_ms

        steps = [s.step() for s in self.steps]
        first = {**steps[0], "chain": steps[1:]}
        start(first, eta_ms=eta_ms(countdown, eta))
        result = None
        for step in steps:
            result = AsyncResult(step["task_id"], parent=result)
        return result


class group:  # noqa: N801
    """group(add.s(i, i) for i in range(10)): run in parallel; `.get()` lists the results in
    order."""

    def __init__(self, *tasks):
        if len(tasks) == 1 and not isinstance(tasks[0], Signature):
            tasks = tuple(tasks[0])
        self.tasks = [_signature(t, "group()") for t in tasks]

    def delay(self) -> GroupResult:
        return self.apply_async()

    def apply_async(self, *, countdown=None, eta=None) -> GroupResult:
        from producer_django.tasks.task import eta_ms

        due = eta_ms(countdown, eta)
        return GroupResult([start(t.step(), eta_ms=due) for t in self.tasks])


class chord:  # noqa: N801
    """chord(header, body): run the header group, then `body` once with the list of results,
    when the last member has finished (whichever worker runs it)."""

    def __init__(self, header: Iterable, body: Signature | None = None):
        self.header = group(header).tasks if not isinstance(header, group) else header.tasks
        self.body = body

    def __call__(self, body: Signature) -> AsyncResult:
        return chord(self.header, body).delay()

    def delay(self) -> AsyncResult:
        return self.apply_async()

    def apply_async(self, *, countdown=None, eta=None) -> AsyncResult:
        from producer_django.tasks.task import eta_ms

        body = _signature(self.body, "chord() body")
        callback = body.step()
        due = eta_ms(countdown, eta)
        if not self.header:
            # Nothing to wait for: the callback gets the empty list at once.
            return _start_with(callback, [], due)
        chord_id = str(uuid.uuid4())
        size = len(self.header)
        for index, member in enumerate(self.header):
            start(member.step(), eta_ms=due, workflow={"chord": {
                "id": chord_id, "size": size, "index": index, "callback": callback}})
        return AsyncResult(callback["task_id"])


def _start_with(step: dict, first_arg, eta_ms: int | None) -> AsyncResult:
    from producer_django.tasks.enqueue import enqueue

    enqueue(request_for(step, eta_ms=eta_ms, first_arg=first_arg, has_first_arg=True))
    return AsyncResult(step["task_id"])
