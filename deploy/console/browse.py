"""The topic message browser: the replay code (range, decode, `--where` filters, masking) with
a bounded cost per request.

A page reads at most `limit` matching records and stops after `BROWSE_SECONDS` whatever it has
found, so a filter that matches nothing on a topic of millions of records still answers.
Exports stream every matching record of the range (jsonl or csv, the replay's writers).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from consumers.replay.reader import DEFAULT_BATCH
from consumers.replay.session import Record, Replay
from consumers.replay.writers import open_writer
from schemas.config import ConnectionSettings

BROWSE_SECONDS = 10.0
MAX_PAGE = 500
PAGE_BATCH = 500
EXPORT_FORMATS = ("jsonl", "csv")


@dataclass
class Query:
    topic: str
    partition: int | None = None
    start: str | None = None  # offset, ISO time, "beginning"/"end"
    end: str | None = None
    where: list[str] = field(default_factory=list)
    limit: int = 50

    def replay(self, settings: ConnectionSettings, *, limit: int | None,
               batch_size: int = DEFAULT_BATCH) -> Replay:
        return Replay(
            settings, self.topic, self.start or None, self.end or None,
            partitions=None if self.partition is None else [self.partition],
            where=self.where, limit=limit, allow_empty=True, idle_timeout_s=BROWSE_SECONDS,
            batch_size=batch_size,
        )


@dataclass
class Page:
    records: list[Record]
    read: int
    undecodable: int
    stopped_early: bool


def browse(settings: ConnectionSettings, query: Query) -> Page:
    limit = max(1, min(query.limit, MAX_PAGE))
    # Small batches: a page wants its first records soon, not the replay's 20,000-record reads.
    replay = query.replay(settings, limit=limit, batch_size=max(limit, PAGE_BATCH))
    stop = threading.Event()
    timer = threading.Timer(BROWSE_SECONDS, stop.set)
    replay.request_stop(stop)
    replay.on_undecodable = lambda item: None  # counted in replay.stats
    timer.start()
    try:
        records = list(replay)
    finally:
        timer.cancel()
        replay.close()
    return Page(records, replay.stats.read, replay.stats.undecodable, stop.is_set())


def export(settings: ConnectionSettings, query: Query, fmt: str) -> Iterator[bytes]:
    """The matching records of the whole range as `fmt` bytes, batch by batch."""
    replay = query.replay(settings, limit=None)
    replay.on_undecodable = lambda item: None
    replay.open()
    schemas = replay.schemas() if fmt == "csv" else []
    sink = io.BytesIO()
    writer = open_writer(fmt, sink, raw=False, schemas=schemas)
    try:
        for batch in replay.batches():
            writer.write(batch)
            yield _drain(sink)
        writer.close()
        yield _drain(sink)
    finally:
        replay.close()


def _drain(sink: io.BytesIO) -> bytes:
    data = sink.getvalue()
    sink.seek(0)
    sink.truncate()
    return data
