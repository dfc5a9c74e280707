"""Reading a topic's partitions in several processes at once, into one jsonl output.

Decoding and formatting are Python work per record, so one process uses one core however many
partitions the topic has. A large jsonl export therefore splits the resolved range into
partition groups of about equal size, reads each group in its own process, and writes the
groups' lines to the one output as they arrive: each record stays in its partition's order, as
in a single-process read (which interleaves partitions too).

Children are forked (spawning one re-imports the CLI: about a second of CPU each), so they
share the parent's Replay as it was set up. The parent closes its librdkafka client first, as a
fork would not carry that client's threads over; so only a single-threaded program like the CLI
may read in parallel.
"""

from __future__ import annotations

import io
import multiprocessing
import os
from dataclasses import dataclass, replace
from multiprocessing.connection import wait

from consumers.replay.errors import ReplayError
from consumers.replay.ranges import PartitionRange, TopicRange
from consumers.replay.session import Replay
from consumers.replay.writers import JsonlWriter

# Below this many records per process, a process's start and the copy of its lines to the
# parent cost about what it saves.
MIN_RECORDS_PER_PROCESS = 200_000


def processes_for(replay: Replay, fmt: str, requested: int | None = None) -> int:
    """How many processes should read `replay`'s range: 1 unless the export is jsonl with no
    --limit (a limit needs one count across partitions); `requested` caps it (None: one per
    core)."""
    if fmt != "jsonl" or replay.limit is not None or replay.range is None:
        return 1
    busy = sum(1 for p in replay.range.partitions if p.size > 0)
    if requested is not None:
        return max(1, min(busy, requested))
    by_size = replay.range.size // MIN_RECORDS_PER_PROCESS
    return max(1, min(busy, os.cpu_count() or 1, by_size))


def partition_groups(partitions: tuple[PartitionRange, ...], n: int) -> list[list[PartitionRange]]:
    """`n` groups of about equal record counts (largest partition first, into the lightest)."""
    groups: list[list[PartitionRange]] = [[] for _ in range(n)]
    sizes = [0] * n
    for part in sorted(partitions, key=lambda p: p.size, reverse=True):
        if part.size == 0:
            continue
        lightest = sizes.index(min(sizes))
        groups[lightest].append(part)
        sizes[lightest] += part.size
    return [g for g in groups if g]


@dataclass
class ParallelResult:
    written: int = 0
    read: int = 0
    undecodable: int = 0


class ParallelRead:
    """The partition groups of an opened `replay` read by `processes` forked children, which
    start at once; `copy_to` writes their jsonl lines to a sink. Undecodable records are
    reported by the child that met them, through `replay.on_undecodable`.

    Created before any other thread starts (e.g. a progress bar's): a fork copies only the
    calling thread, and a lock another thread held at that moment stays held in the child."""

    def __init__(self, replay: Replay, processes: int):
        self.topic = replay.topic
        context = multiprocessing.get_context("fork")
        self._children = []
        try:
            for group in partition_groups(replay.range.partitions, processes):
                part = replace(replay.range, partitions=tuple(group))
                receiver, sender = context.Pipe(duplex=False)
                child = context.Process(target=_read_group, args=(replay, part, sender),
                                        daemon=True)
                child.start()
                sender.close()  # the child holds its end: EOF here means the child is gone
                self._children.append((child, receiver))
        except BaseException:
            self.close()
            raise

    def copy_to(self, sink, on_progress=None) -> ParallelResult:
        """Write what the children send to `sink` until every one is done; then close."""
        result = ParallelResult()
        read_by: dict = {}
        open_ends = {receiver: child for child, receiver in self._children}
        try:
            while open_ends:
                for receiver in wait(list(open_ends)):
                    try:
                        kind, *payload = receiver.recv()
                    except EOFError:
                        child = open_ends.pop(receiver)
                        child.join(5)
                        raise ReplayError(
                            f"a replay process reading {self.topic!r} stopped (exit code "
                            f"{child.exitcode}) before finishing its partitions; see above"
                        ) from None
                    if kind == "lines":
                        count, read, data = payload
                        sink.write(data)
                        result.written += count
                        read_by[receiver] = read
                        if on_progress is not None:
                            on_progress(sum(read_by.values()))
                    elif kind == "done":
                        read, undecodable = payload
                        read_by[receiver] = read
                        result.undecodable += undecodable
                        open_ends.pop(receiver).join(5)
                    else:  # "failed"
                        raise ReplayError(payload[0])
        finally:
            self.close()
        result.read = sum(read_by.values())
        return result

    def close(self) -> None:
        """Stop children still running (the reader went away, an error, Ctrl-C)."""
        for child, receiver in self._children:
            if child.is_alive():
                child.terminate()
                child.join(5)
            receiver.close()
        self._children = []


def _read_group(parent: Replay, part: TopicRange, sender) -> None:
    """The child: read the group, send its jsonl lines batch by batch, then the counts."""
    replay = Replay(parent.settings, part.topic, where=parent.where, raw=parent.raw,
                    unmask=parent.unmask, fixed_range=part, allow_empty=True,
                    on_undecodable=parent.on_undecodable)
    buffer = io.BytesIO()
    writer = JsonlWriter(buffer, raw=parent.raw)
    try:
        for batch in replay.batches():
            writer.write(batch)
            sender.send(("lines", len(batch), replay.stats.read, buffer.getvalue()))
            buffer.seek(0)
            buffer.truncate()
        sender.send(("done", replay.stats.read, replay.stats.undecodable))
    except KeyboardInterrupt:
        pass  # the parent stops too and says so
    except Exception as exc:  # noqa: BLE001 - reported by the parent, which exits non-zero
        sender.send(("failed", f"reading {part.topic!r}: {type(exc).__name__}: {exc}"))
    finally:
        sender.close()

