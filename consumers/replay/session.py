"""A replay: resolve a range, read it, decode, filter, mask; yields `Record`s in batches.

    with Replay(settings, "billing.invoices", start="2026-11-22T10:00Z") as replay:
        for record in replay:
            ...

The CLI and the notebook API (`consumers.replay.api`) are both thin layers over this class.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from consumers.replay import filters
from consumers.replay.decoding import Decoder, pii_paths
from consumers.replay.errors import EmptyRangeError, ReplayError
from consumers.replay.masking import mask
from consumers.replay.ranges import TopicRange, parse_bound, resolve
from consumers.replay.reader import (
    DEFAULT_BATCH,
    DEFAULT_IDLE_TIMEOUT_S,
    make_consumer,
    read_batches,
)
from consumers.replay.schemas_of_topic import topic_schemas
from schemas import catalog
from schemas.config import ConnectionSettings
from schemas.errors import DeserializationError, ServiceUnavailable
from schemas.serde import schema_id_of

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp: int  # epoch milliseconds (the Kafka record timestamp)
    key: str | None
    event_type: str | None  # writer schema name; in raw mode the `event_type` header
    value: dict | None  # decoded (and masked) payload; None in raw mode
    raw: bytes | None  # the undecoded value, kept in raw mode only


@dataclass
class Undecodable:
    topic: str
    partition: int
    offset: int
    timestamp: int
    reason: str

    def describe(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}: {self.reason}"


@dataclass
class Stats:
    in_range: int = 0  # offsets in the resolved range (control records included)
    read: int = 0
    matched: int = 0
    undecodable: int = 0
    outside_time_window: int = 0
    undecodable_samples: list = field(default_factory=list)


MAX_KEPT_UNDECODABLE = 1000
SAMPLE_PER_PARTITION = 200


class Replay:
    def __init__(
        self,
        settings: ConnectionSettings,
        topic: str,
        start=None,
        end=None,
        *,
        partitions: list[int] | None = None,
        where: list[str] | None = None,
        limit: int | None = None,
        raw: bool = False,
        unmask: bool = False,
        registry=None,
        on_undecodable: Callable[[Undecodable], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
        batch_size: int = DEFAULT_BATCH,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        allow_empty: bool = False,
        fixed_range: TopicRange | None = None,
    ):
        if limit is not None and limit < 1:
            raise ReplayError(f"--limit {limit}: give a positive number of records")
        self.settings = settings
        self.topic = topic
        self.start = parse_bound(start, "beginning")
        self.end = parse_bound(end, "end")
        self.partitions = partitions
        self.where = where
        self.clauses = filters.parse(where)
        self.limit = limit
        self.raw = raw
        self.unmask = unmask
        self.on_undecodable = on_undecodable
        self.on_progress = on_progress
        self.batch_size = batch_size
        self.idle_timeout_s = idle_timeout_s
        self.allow_empty = allow_empty
        self.stats = Stats()
        self.range: TopicRange | None = None
        # A range resolved and checked by another Replay (the parent of a parallel read).
        self._fixed_range = fixed_range
        self._registry = registry
        self._consumer = None
        self._schemas: list[dict] | None = None
        self._stop = None

    # -- lifecycle ------------------------------------------------------------------------

    def open(self) -> TopicRange:
        """Connect, fix the range, check the filters; idempotent."""
        if self.range is not None:
            return self.range
        self._consumer = make_consumer(self.settings)
        if self._fixed_range is not None:
            self.range = self._fixed_range
            self.stats.in_range = self.range.size
            return self.range
        try:
            self.range = resolve(
                self._consumer,
                self.topic,
                self.start,
                self.end,
                self.partitions,
                address=self.settings.bootstrap_servers,
                timeout_s=max(self.settings.timeout_s, 5.0),
            )
            self.stats.in_range = self.range.size
            self._check_request()
        except BaseException:
            self.range = None
            self.close()
            raise
        if self.range.size == 0 and not self.allow_empty:
            raise EmptyRangeError(_empty_message(self.range))
        return self.range

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def __enter__(self) -> Replay:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request_stop(self, event) -> None:
        """A threading.Event that ends the read after the current batch (signal handling)."""
        self._stop = event

    # -- schemas ----------------------------------------------------------------------------

    @property
    def registry(self):
        if self._registry is None:
            from schemas import registry

            self._registry = registry.connect(self.settings)
        return self._registry

    def schemas(self) -> list[dict]:
        """The record schemas this topic's values may have (registry subjects + catalog)."""
        if self._schemas is None:
            self._schemas = topic_schemas(self.registry, self.topic) or self._sampled_schemas()
        return self._schemas

    def _sampled_schemas(self) -> list[dict]:
        """Writer schemas of the first records of each partition in the range.

        For topics whose subjects are not named after them (e.g. a copy of a catalog topic).
        """
        if self.range is None or self.range.size == 0:
            return []
        head = replace(
            self.range,
            partitions=tuple(
                replace(p, end=min(p.end, p.start + SAMPLE_PER_PARTITION))
                for p in self.range.partitions
            ),
        )
        decoder = Decoder(self.registry)
        found: dict[str, dict] = {}
        consumer = make_consumer(self.settings)
        try:
            for messages in read_batches(consumer, head, idle_timeout_s=self.idle_timeout_s):
                for msg in messages:
                    try:
                        writer = decoder.writer_schema(schema_id_of(msg.value()))
                    except DeserializationError:
                        continue  # reported with its coordinates when the range is read
                    found.setdefault(writer.full_name, writer.schema)
        finally:
            consumer.close()
        return list(found.values())

    def _check_request(self) -> None:
        payload_clauses = [c for c in self.clauses if not c.on_envelope]
        if self.raw and payload_clauses:
            names = ", ".join(c.field for c in payload_clauses)
            raise ReplayError(
                f"--where on payload fields ({names}) needs decoding; drop --raw, or filter "
                "on event_type/key only (they come from the record's headers and key)"
            )
        if payload_clauses:
            known = set()
            for schema in self.schemas():
                known |= filters.field_paths(schema)
            if not known:
                raise ReplayError(
                    f"no schema is registered for topic {self.topic!r}, so --where cannot "
                    "name payload fields; filter on event_type/key, or register its schemas"
                )
            filters.check_fields(self.clauses, known, self.topic)
        if self.raw and not self.unmask:
            marked = sorted({".".join(p) for s in self.schemas() for p in pii_paths(s)} - {""})
            if marked:
                raise ReplayError(
                    f"--raw exports undecoded bytes, which on {self.topic!r} contain fields "
                    f"marked as personal data ({', '.join(marked)}) that cannot be masked "
                    "without decoding; drop --raw to get them masked, or add --unmask"
                )

    # -- reading ----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Record]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[Record]]:
        """Matching records in batches; closes the consumer when done."""
        self.open()
        try:
            yield from self._batches()
        finally:
            self.close()

    def _batches(self) -> Iterator[list[Record]]:
        decoder = None if self.raw else Decoder(self.registry)
        raw_types = None if decoder is not None else RawTypes(self)
        lo, hi = self.range.time_window()
        topic = self.topic
        clauses = self.clauses
        check = filters.matches
        unmask = self.unmask
        stats = self.stats
        remaining = self.limit
        windowed = lo is not None or hi is not None
        # Every record of a raw read is written: one pass per batch, no per-record branches.
        plain_raw = decoder is None and not windowed and not clauses and remaining is None
        for messages in read_batches(
            self._consumer,
            self.range,
            batch_size=self.batch_size,
            idle_timeout_s=self.idle_timeout_s,
            stop=self._stop,
        ):
            stats.read += len(messages)
            if self.on_progress is not None:
                self.on_progress(stats.read)
            if plain_raw:
                out = [
                    Record(
                        topic,
                        msg.partition(),
                        msg.offset(),
                        msg.timestamp()[1],
                        None if (key := msg.key()) is None else key.decode("utf-8", "replace"),
                        raw_types.of_value(raw := msg.value(), msg),
                        None,
                        raw,
                    )
                    for msg in messages
                ]
                stats.matched += len(out)
                yield out
                continue
            out = []
            append = out.append
            for msg in messages:
                ts = msg.timestamp()[1]
                if windowed and ((lo is not None and ts < lo) or (hi is not None and ts >= hi)):
                    stats.outside_time_window += 1
                    continue
                key = msg.key()
                if key is not None:
                    key = key.decode("utf-8", "replace")
                if decoder is None:
                    raw = msg.value()
                    event_type = raw_types.get(raw[:5] if raw else b"", msg)
                    value = None
                else:
                    raw = None
                    data = msg.value()
                    if data is None:
                        # A tombstone (compacted topics): a record with no value, not an error.
                        event_type = value = None
                    else:
                        try:
                            writer, value = decoder.decode(data)
                        except DeserializationError as exc:
                            self._undecodable(msg, ts, str(exc))
                            continue
                        event_type = writer.name
                        if not unmask and writer.pii_paths:
                            mask(value, writer.pii_paths)
                if clauses and not check(clauses, event_type, key, value):
                    continue
                append(
                    Record(topic, msg.partition(), msg.offset(), ts, key, event_type, value, raw)
                )
                if remaining is not None:
                    remaining -= 1
                    if remaining == 0:
                        break
            stats.matched += len(out)
            if out:
                yield out
            if remaining == 0:
                return

    def _undecodable(self, msg, ts: int, reason: str) -> None:
        self.stats.undecodable += 1
        item = Undecodable(self.topic, msg.partition(), msg.offset(), ts, reason)
        if len(self.stats.undecodable_samples) < MAX_KEPT_UNDECODABLE:
            self.stats.undecodable_samples.append(item)
        if self.on_undecodable is not None:
            self.on_undecodable(item)
        else:
            logger.warning("undecodable record %s", item.describe())


class RawTypes:
    """Event types in raw mode, without decoding a body: from the writer schema's name (one
    registry lookup per schema id), else from the record's `event_type` header."""

    def __init__(self, replay: Replay):
        self._replay = replay
        self._decoder: Decoder | None = None
        self._by_head: dict[bytes, str | None] = {}
        self._registry_down = False

    def of_value(self, value: bytes | None, msg) -> str | None:
        head = value[:5] if value else b""
        try:
            return self._by_head[head]
        except KeyError:
            return self.get(head, msg)

    def get(self, head: bytes, msg) -> str | None:
        try:
            return self._by_head[head]
        except KeyError:
            pass
        name = self._from_registry(head)
        if name is None:
            # Not framed, or unknown to the registry: the header says what it claims to be.
            return _header(msg.headers(), catalog.HEADER_EVENT_TYPE)
        self._by_head[head] = name
        return name

    def _from_registry(self, head: bytes) -> str | None:
        if self._registry_down:
            return None
        try:
            schema_id = schema_id_of(head + b"\0")
            if self._decoder is None:
                self._decoder = Decoder(self._replay.registry)
            return self._decoder.writer_schema(schema_id).name
        except DeserializationError:
            return None
        except ServiceUnavailable as exc:
            # Raw mode must work on a topic whose registry is gone; headers still route.
            logger.warning("raw replay without the registry: %s", exc)
            self._registry_down = True
            return None


def _header(headers, name: str) -> str | None:
    if headers:
        for key, value in headers:
            if key == name and value is not None:
                return value.decode("utf-8", "replace")
    return None


def _empty_message(topic_range: TopicRange) -> str:
    held = sum(p.high - p.low for p in topic_range.partitions)
    window = f"from {topic_range.start.describe()} to {topic_range.end.describe()}"
    if held == 0:
        return f"topic {topic_range.topic!r} holds no records at all ({window} is empty)"
    return (
        f"no records in topic {topic_range.topic!r} {window}; the topic holds {held} records "
        "in total: widen --from/--to (or drop them to read everything)"
    )
