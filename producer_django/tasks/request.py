"""A task request: the fields of the built-in TaskRequested event, and JSON for arguments.

Arguments travel as JSON text inside the Avro record (one schema for every task), so they are
checked at `.delay()` time: a value JSON cannot carry is a TaskArgumentsError naming it, in the
caller's process, not a crash in the worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from producer_django.tasks.errors import BadTaskRequest, TaskArgumentsError


def to_json(value: Any, what: str) -> str:
    """`value` as compact JSON; TaskArgumentsError naming `what` and the value otherwise."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TaskArgumentsError(
            f"{what} is not JSON-serialisable ({exc}); pass ids, strings, numbers, lists and "
            "dicts (e.g. the primary key instead of a model instance)"
        ) from None


@dataclass(frozen=True)
class TaskRequest:
    task_id: str
    task: str
    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)
    queue: str = "default"
    root_id: str = ""
    attempt: int = 1
    eta_ms: int | None = None
    # What follows: {"chain": [step, ...], "chord": {"id", "size", "index", "callback": step}}.
    workflow: dict | None = None

    def payload(self) -> dict[str, Any]:
        """The event's own fields (metadata is added by the outbox)."""
        return {
            "task_id": self.task_id,
            "root_id": self.root_id or self.task_id,
            "task": self.task,
            "args": to_json(list(self.args), f"the arguments of {self.task}"),
            "kwargs": to_json(dict(self.kwargs), f"the keyword arguments of {self.task}"),
            "queue": self.queue,
            "attempt": self.attempt,
            "eta_ms": self.eta_ms,
            "workflow": to_json(self.workflow, f"the workflow of {self.task}")
            if self.workflow else None,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> TaskRequest:
        """The request of a decoded event; BadTaskRequest naming the field that is unreadable."""
        args = _json_field(record, "args", list)
        kwargs = _json_field(record, "kwargs", dict)
        workflow = _json_field(record, "workflow", dict) if record.get("workflow") else None
        return cls(
            task_id=record["task_id"], task=record["task"], args=args, kwargs=kwargs,
            queue=record["queue"], root_id=record["root_id"], attempt=int(record["attempt"]),
            eta_ms=record.get("eta_ms"), workflow=workflow,
        )

    @classmethod
    def identity(cls, record: dict[str, Any]) -> TaskRequest:
        """The request's ids alone, for recording a request whose arguments are unreadable."""
        return cls(task_id=record["task_id"], task=record["task"], queue=record["queue"],
                   root_id=record["root_id"], attempt=int(record["attempt"]))

    def next_attempt(self, eta_ms: int) -> TaskRequest:
        return replace(self, attempt=self.attempt + 1, eta_ms=eta_ms)


def _json_field(record: dict[str, Any], name: str, kind: type):
    text = record.get(name)
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise BadTaskRequest(
            f"task request {record.get('task_id')} ({record.get('task')}): `{name}` is not JSON "
            f"({exc}): {str(text)[:200]!r}; enqueue tasks with .delay()/.apply_async(), which "
            "write valid requests"
        ) from None
    if not isinstance(value, kind):
        raise BadTaskRequest(
            f"task request {record.get('task_id')} ({record.get('task')}): `{name}` must be a "
            f"JSON {'array' if kind is list else 'object'}, got {str(text)[:200]!r}"
        )
    return value
