"""The handler interface: what a worker calls for each decoded event.

A handler declares how its effect relates to the inbox (`consumers.inbox`):

- `transactional = True`: `handle(event, tx)` writes to the project's database through `tx`;
  the runtime records the event id in the same transaction, so the effect happens exactly
  once. `tx.publish(event_type, data)` adds a follow-up event to the project's outbox in that
  transaction (`consumers.followups`).
- `transactional = False`: the effect is outside the database (SMTP, a cache backend);
  the runtime skips events already recorded, calls `handle(event, None)`, and records the id
  right after it returns.

A handler is a class or factory named by a dotted path under `[tool.event-pipeline.workers]`;
its declared options arrive as keyword arguments. When the project declares `django_settings`,
Django is set up with them before the handler is built, so it may use the project's models.

Raising from `handle` sends the record to the next retry topic, or to the dead-letter topic
after the last attempt. Raise `PermanentFailure` to skip the retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from consumers.db import Transaction
from consumers.message import Event

# PermanentFailure lives in schemas.errors so that handlers of every area raise the same class.
from schemas.errors import PermanentFailure  # noqa: F401


class WorkerContext(Protocol):
    """What a handler may use when it opens: the worker's name, options and database."""

    name: str

    @property
    def options(self): ...

    @property
    def database(self): ...


class Handler(Protocol):
    name: str
    topics: Sequence[str]
    transactional: bool

    def open(self, context: WorkerContext) -> None: ...

    def handle(self, event: Event, tx: Transaction | None) -> None: ...

    def close(self) -> None: ...


__all__ = ["Handler", "PermanentFailure", "WorkerContext"]
