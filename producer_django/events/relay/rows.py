"""The relay's view of one claimed outbox row (no Django imports, so fakes can build it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClaimedRow:
    id: int
    event_type: str
    topic: str
    key: str
    payload: dict
    traceparent: str
    attempts: int
