"""Metadata of derived events: deterministic ids, causation and correlation (CONTRACTS.md).

A derived event's `event_id` comes from its cause's id, its type and its index among the
cause's derived events of that type, so reprocessing the cause yields the same ids and
downstream dedupe holds. It also keeps the cause's `occurred_at`, so re-emitting is
byte-for-byte the same record.
"""

from __future__ import annotations

from schemas.ids import derived_event_id


def derived(
    event_type: str,
    *,
    cause_id: str,
    correlation_id: str,
    occurred_at_ms: int,
    aggregate_id: str,
    aggregate_version: int,
    producer: str,
    n: int = 0,
    **payload,
) -> dict:
    return {
        "event_id": derived_event_id(cause_id, event_type, n),
        "occurred_at": int(occurred_at_ms),
        "aggregate_id": aggregate_id,
        "aggregate_version": int(aggregate_version),
        "correlation_id": correlation_id,
        "causation_id": cause_id,
        "producer": producer,
        **payload,
    }


def derived_from(
    event, event_type: str, *, producer: str, aggregate_id: str, n: int = 0, **payload
) -> dict:
    """`derived` with the metadata of a decoded `streams.codec.Event` as the cause."""
    record = event.record
    return derived(
        event_type,
        cause_id=record["event_id"],
        correlation_id=record["correlation_id"],
        occurred_at_ms=event.occurred_at_ms(),
        aggregate_id=aggregate_id,
        aggregate_version=record["aggregate_version"],
        producer=producer,
        n=n,
        **payload,
    )
