"""Event ids: time-ordered ones for new events, deterministic ones for derived events."""

from __future__ import annotations

import os
import time
import uuid

DERIVED_NAMESPACE = uuid.UUID("6f1c2a8e-3b7d-5e4f-9a10-2c3d4e5f6a7b")

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0x2 << 62
_VERSION_MASK = 0xF << 76
_VARIANT_MASK = 0x3 << 62


def new_event_id() -> str:
    """A fresh event id: a UUIDv7 (RFC 9562), 48 bits of Unix time in milliseconds, then 74
    random bits. Ids of events created one after the other sort in that order, so the inbox
    and outbox indexes keyed by them grow at their right edge instead of splitting pages at
    random, as uuid4 ids make them do. Still unique: 74 random bits per millisecond."""
    value = (time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF) << 80
    value |= int.from_bytes(os.urandom(10), "big")
    value = value & ~_VERSION_MASK & ~_VARIANT_MASK | _VERSION_7 | _VARIANT_RFC
    return str(uuid.UUID(int=value))


def derived_event_id(cause_event_id: str, derived_type: str, n: int = 0) -> str:
    """The id of the `n`-th `derived_type` event caused by `cause_event_id`."""
    return str(uuid.uuid5(DERIVED_NAMESPACE, f"{cause_event_id}:{derived_type}:{n}"))
