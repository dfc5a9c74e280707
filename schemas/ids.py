"""Deterministic ids for derived events, so that reprocessing yields the same ids."""

from __future__ import annotations

import uuid

DERIVED_NAMESPACE = uuid.UUID("6f1c2a8e-3b7d-5e4f-9a10-2c3d4e5f6a7b")


def derived_event_id(cause_event_id: str, derived_type: str, n: int = 0) -> str:
    """The id of the `n`-th `derived_type` event caused by `cause_event_id`."""
    return str(uuid.uuid5(DERIVED_NAMESPACE, f"{cause_event_id}:{derived_type}:{n}"))
