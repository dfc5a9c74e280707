"""Which source positions a state has already applied, robust to out-of-order delivery.

After a rebalance faust can hand an agent a prefetched record *before* the lower offsets that
are re-read from the committed position (faust-streaming issue #221). A single "highest offset
applied" watermark would then drop those lower records as duplicates and lose them. So each
source partition keeps the last APPLIED_OFFSETS offsets it applied, sorted: an offset in that
list is a duplicate, and so is one below it once the list is full (older than any reordering
faust produces); anything else is new.
"""

from __future__ import annotations

from bisect import bisect_left, insort

APPLIED_OFFSETS = 128


def already_applied(applied: dict[str, list[int]], source: str, offset: int) -> bool:
    offsets = applied.get(source)
    if not offsets:
        return False
    if len(offsets) >= APPLIED_OFFSETS and offset < offsets[0]:
        return True
    i = bisect_left(offsets, offset)
    return i < len(offsets) and offsets[i] == offset


def remember(applied: dict[str, list[int]], source: str, offset: int) -> dict[str, list[int]]:
    """A new mapping with `offset` recorded for `source` (the input is left unchanged)."""
    copy = {**applied, source: list(applied.get(source, ()))}
    remember_in_place(copy, source, offset)
    return copy


def remember_in_place(applied: dict[str, list[int]], source: str, offset: int) -> None:
    """Record `offset` for `source` in `applied` itself: for folding a batch of changes into
    one working copy of a state (copy the lists first, see `copy_applied`)."""
    offsets = applied.setdefault(source, [])
    insort(offsets, offset)
    if len(offsets) > APPLIED_OFFSETS:
        del offsets[: len(offsets) - APPLIED_OFFSETS]


def copy_applied(applied: dict[str, list[int]]) -> dict[str, list[int]]:
    return {source: list(offsets) for source, offsets in applied.items()}
