"""Factories of the shop's events for tests and benchmarks of the shop's workers."""

from __future__ import annotations

from consumers.testing import metadata


def notification(n: int, template: str = "welcome", **params) -> dict:
    user_id = f"user-{n}"
    event = metadata(user_id)
    base = {"name": f"User {n}"}
    if template == "order_confirmation":
        base.update(order_id=f"order-{n}", total_cents="1999")
    base.update(params)
    event.update(user_id=user_id, recipient=f"user{n}@example.test", template=template,
                 params=base)
    return event


def search_upsert(document_id: str, title: str, body: str = "", version: int = 1) -> dict:
    event = metadata(document_id, version)
    event.update(document_id=document_id, kind="product", title=title, body=body)
    return event


def cache_invalidated(keys: list[str]) -> dict:
    event = metadata(keys[0] if keys else "none")
    event.update(keys=keys)
    return event
