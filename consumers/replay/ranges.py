"""Turning `--from`/`--to` into per-partition offset ranges.

A bound is `beginning`, `end`, an offset (an integer, applied to every partition) or an ISO
datetime (looked up per partition with `offsets_for_times`; naive datetimes are UTC). Ranges are
half-open: `[from, to)`. The end of every range is fixed when the range is resolved (the high
watermark at that moment), so a replay always finishes, even while producers keep writing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, date, datetime

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from consumers.replay.errors import BadRangeError, UnknownTopicError
from schemas.errors import ServiceUnavailable

BEGINNING = "beginning"
END = "end"
_ALIASES = {"beginning": BEGINNING, "earliest": BEGINNING, "end": END, "latest": END}


@dataclass(frozen=True)
class Bound:
    """One end of a range: `kind` is "beginning", "end", "offset" or "time"."""

    kind: str
    value: int | None = None  # the offset, or the time in epoch milliseconds

    @property
    def is_time(self) -> bool:
        return self.kind == "time"

    def describe(self) -> str:
        if self.kind == "offset":
            return f"offset {self.value}"
        if self.kind == "time":
            return format_ms(self.value)
        return self.kind


def parse_bound(text: str | int | datetime | date | None, default: str) -> Bound:
    """`None` gives `default` ("beginning" or "end"); see the module docstring for forms."""
    if text is None:
        return Bound(default)
    if isinstance(text, datetime | date):
        return Bound("time", to_ms(text))
    if isinstance(text, int):
        return _offset_bound(text)
    raw = str(text).strip()
    if raw.lower() in _ALIASES:
        return Bound(_ALIASES[raw.lower()])
    if raw.lstrip("-").isdigit():
        return _offset_bound(int(raw))
    if raw.lower() == "now":
        return Bound("time", to_ms(datetime.now(UTC)))
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        raise BadRangeError(
            f"cannot read {raw!r} as a range bound; use an ISO datetime "
            "(2026-11-22T10:00:00Z), an offset (1234), 'beginning' or 'end'"
        ) from None
    return Bound("time", to_ms(parsed))


def _offset_bound(offset: int) -> Bound:
    if offset < 0:
        raise BadRangeError(f"offset {offset} is negative; offsets start at 0")
    return Bound("offset", offset)


def to_ms(moment: datetime | date) -> int:
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def format_ms(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def check_order(start: Bound, end: Bound) -> None:
    """`--to` before `--from` is an error when both are of the same kind."""
    if start.kind == end.kind and start.kind in ("time", "offset") and end.value < start.value:
        raise BadRangeError(
            f"--to ({end.describe()}) is before --from ({start.describe()}); swap them"
        )
    if start.kind == END and end.kind == BEGINNING:
        raise BadRangeError("--to beginning is before --from end; swap them")


@dataclass(frozen=True)
class PartitionRange:
    partition: int
    start: int  # first offset to read
    end: int  # first offset NOT to read (fixed when resolved)
    low: int  # the partition's low watermark when resolved
    high: int  # its high watermark when resolved

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)


@dataclass(frozen=True)
class TopicRange:
    topic: str
    partitions: tuple[PartitionRange, ...]
    start: Bound
    end: Bound

    @property
    def size(self) -> int:
        """Offsets in the range (an upper bound on records: control records take offsets too)."""
        return sum(p.size for p in self.partitions)

    def time_window(self) -> tuple[int | None, int | None]:
        """Record timestamps outside this window are skipped (timestamps need not be ordered)."""
        return (
            self.start.value if self.start.is_time else None,
            self.end.value if self.end.is_time else None,
        )


def resolve(
    consumer,
    topic: str,
    start: Bound,
    end: Bound,
    partitions: list[int] | None = None,
    *,
    address: str = "",
    timeout_s: float = 10.0,
) -> TopicRange:
    """Per-partition `[start, end)` offsets of `topic`, fixed now."""
    check_order(start, end)
    available = topic_partitions(consumer, topic, address=address, timeout_s=timeout_s)
    chosen = available if partitions is None else list(partitions)
    missing = sorted(set(chosen) - set(available))
    if missing:
        raise BadRangeError(
            f"topic {topic!r} has partitions 0..{len(available) - 1}; "
            f"there is no partition {', '.join(map(str, missing))}"
        )
    watermarks = {
        p: _watermarks(consumer, TopicPartition(topic, p), address, timeout_s) for p in chosen
    }
    starts = _offsets(consumer, topic, start, watermarks, timeout_s)
    ends = _offsets(consumer, topic, end, watermarks, timeout_s)
    ranges = tuple(
        PartitionRange(p, starts[p], max(starts[p], ends[p]), *watermarks[p]) for p in chosen
    )
    return TopicRange(topic, ranges, start, end)


def topic_partitions(consumer, topic: str, *, address: str = "", timeout_s: float = 10.0):
    """Sorted partition ids of `topic`, or UnknownTopicError naming close matches."""
    try:
        meta = consumer.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise ServiceUnavailable(
            "Kafka broker",
            address,
            str(exc.args[0]) if exc.args else str(exc),
            "Start the local stack with `pipeline up`, or set KAFKA_BOOTSTRAP_SERVERS",
        ) from exc
    found = meta.topics.get(topic)
    if found is None or (
        found.error is not None and found.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    ):
        names = [t for t in meta.topics if not t.startswith("__")]
        close = difflib.get_close_matches(topic, names, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else "`pipeline topics list` shows them"
        raise UnknownTopicError(
            f"topic {topic!r} does not exist on {address or 'the cluster'}; {hint}"
        )
    return sorted(found.partitions)


def _watermarks(consumer, tp: TopicPartition, address: str, timeout_s: float) -> tuple[int, int]:
    try:
        return consumer.get_watermark_offsets(tp, timeout=timeout_s, cached=False)
    except KafkaException as exc:
        raise ServiceUnavailable(
            "Kafka broker", address, f"watermarks of {tp.topic}[{tp.partition}]: {exc}"
        ) from exc


def _offsets(consumer, topic: str, bound: Bound, watermarks: dict, timeout_s: float) -> dict:
    if bound.kind == BEGINNING:
        return {p: low for p, (low, _) in watermarks.items()}
    if bound.kind == END:
        return {p: high for p, (_, high) in watermarks.items()}
    if bound.kind == "offset":
        return {p: min(max(bound.value, low), high) for p, (low, high) in watermarks.items()}
    query = [TopicPartition(topic, p, bound.value) for p in watermarks]
    found = consumer.offsets_for_times(query, timeout=timeout_s)
    result = {}
    for tp in found:
        low, high = watermarks[tp.partition]
        # -1: no record at or after that time, so the range starts/ends at the current end.
        result[tp.partition] = high if tp.offset < 0 else min(max(tp.offset, low), high)
    return result
