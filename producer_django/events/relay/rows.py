"""The relay's view of one claimed outbox row (no Django imports, so fakes can build it)."""

from __future__ import annotations

from typing import NamedTuple


class ClaimedRow(NamedTuple):
    # A tuple, not a frozen dataclass: a claim builds one per row, and a frozen dataclass
    # sets each field through object.__setattr__ (a third of the claim's Python time).
    id: int
    event_type: str
    topic: str
    key: str
    payload: dict
    traceparent: str
    attempts: int
