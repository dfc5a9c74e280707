"""Running one export: a Replay into a writer, with progress and a summary on stderr."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from consumers.replay import parallel
from consumers.replay.errors import ReplayError
from consumers.replay.progress import ReplayProgress
from consumers.replay.session import Replay
from consumers.replay.writers import FORMATS, open_writer

_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".avro": "avro",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass
class ExportResult:
    written: int
    read: int
    undecodable: int
    seconds: float
    broken_pipe: bool = False


def choose_format(fmt: str | None, out: str | None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise ReplayError(f"--format {fmt!r} is unknown; use one of {', '.join(FORMATS)}")
        return fmt
    if out and out != "-":
        suffix = Path(out).suffix.lower()
        if suffix not in _EXTENSIONS:
            named = f"extension {suffix!r}" if suffix else "no extension"
            raise ReplayError(
                f"--out {out}: {named} names no export format; the formats are "
                f"{', '.join(FORMATS)} ({', '.join(_EXTENSIONS)}); use one of those "
                "extensions or add --format"
            )
        return _EXTENSIONS[suffix]
    return "jsonl"


def export(
    replay: Replay, fmt: str, out: str | None, *, progress: bool | None = None, err=None,
    processes: int | None = 1,
) -> ExportResult:
    """Write every matching record of `replay` to `out` (a path, or stdout for None/"-").

    A jsonl export may read its partitions in several processes (`consumers.replay.parallel`):
    `processes` caps how many; None picks by cores and range size. Those processes are forked,
    so only a single-threaded program (the CLI) should ask for more than 1."""
    err = err or sys.stderr
    to_stdout = out in (None, "-")
    if to_stdout and fmt in ("avro", "parquet") and sys.stdout.isatty():
        raise ReplayError(f"--format {fmt} is binary; write it to a file with --out FILE.{fmt}")
    replay.on_undecodable = lambda item: print(f"undecodable: {item.describe()}", file=err)
    topic_range = replay.open()
    schemas = [] if fmt == "jsonl" or (replay.raw and fmt != "avro") else replay.schemas()
    started = time.monotonic()
    sink = sys.stdout.buffer if to_stdout else open(out, "wb")  # noqa: SIM115 (closed below)
    written = 0
    broken_pipe = False
    try:
        several = parallel.processes_for(replay, fmt, processes)
        if several > 1:
            return _export_parallel(replay, sink, several, progress, started)
        writer = open_writer(fmt, sink, raw=replay.raw, schemas=schemas)
        with ReplayProgress(topic_range.topic, topic_range.size, enabled=progress) as bar:
            replay.on_progress = bar.update
            try:
                for batch in replay.batches():
                    writer.write(batch)
                    written += len(batch)
            except BrokenPipeError:
                # The reader went away (`| head`): a normal way to stop.
                broken_pipe = True
                replay.close()
            else:
                limited = replay.limit is not None and written >= replay.limit
                bar.update(replay.stats.read if limited else topic_range.size)
        if not broken_pipe:
            writer.close()
    finally:
        if not to_stdout:
            sink.close()
    stats = replay.stats
    return ExportResult(
        written, stats.read, stats.undecodable, time.monotonic() - started, broken_pipe
    )


def _export_parallel(replay: Replay, sink, processes: int, progress, started) -> ExportResult:
    topic_range = replay.range
    replay.close()  # the children read; this process only writes what they send
    reading = parallel.ParallelRead(replay, processes)  # forks: before the progress bar's thread
    try:
        with ReplayProgress(topic_range.topic, topic_range.size, enabled=progress) as bar:
            try:
                done = reading.copy_to(sink, on_progress=bar.update)
            except BrokenPipeError:
                return ExportResult(0, 0, 0, time.monotonic() - started, broken_pipe=True)
            bar.update(topic_range.size)
    finally:
        reading.close()
    sink.flush()
    return ExportResult(done.written, done.read, done.undecodable, time.monotonic() - started)
