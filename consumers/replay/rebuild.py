"""`pipeline rebuild inventory`: re-derive the inventory table into a new topic, then diff it.

The stream processor is not imported: its inventory app runs as a separate process
(`python -m faust -A streams.shop.inventory worker`) under another app id (so another consumer
group, other internal and changelog topics) and with its outputs pointed at new topics, through
the `STREAMS_*` variables documented in `streams/settings.py`. The end offsets of its source
topics are fixed first; once the copy has committed past them (and past the end of its own
re-keyed topic), it is stopped and the last InventoryLevel per SKU of both topics is compared.
Nothing live is touched: not the live app's group, nor `shop.alerts` (low-stock alerts of the
copy go to a topic of its own, so no ops mail is sent again).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

from consumers.replay.errors import ReplayError
from consumers.replay.offsets import committed_offsets
from consumers.replay.ranges import BEGINNING, END, Bound, parse_bound, resolve
from consumers.replay.reader import make_consumer
from consumers.replay.session import Replay
from schemas import catalog
from schemas.config import ConnectionSettings

logger = logging.getLogger(__name__)

LIVE_LEVELS_TOPIC = "shop.inventory.levels"
LIVE_APP_ID = "streams-inventory"
# The events the inventory table is derived from (ARCHITECTURE.md, "Flows").
SOURCE_EVENTS = ("ProductCreated", "OrderPlaced", "OrderCancelled", "StockAdjusted")
POLL_S = 1.0


@dataclass
class Difference:
    sku: str
    live: int | None
    rebuilt: int | None


@dataclass
class RebuildReport:
    topic: str
    live_topic: str
    skus: int
    differences: int
    rows: list[Difference] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = [
            f"inventory rebuilt into {self.topic} in {self.seconds:.1f}s: {self.skus} SKUs, "
            f"{self.differences} differences against {self.live_topic}"
        ]
        lines += [f"note: {n}" for n in self.notes]
        if self.rows:
            lines.append(f"  {'sku':<32} {'live':>10} {'rebuilt':>10}")
            for d in self.rows:
                live = "-" if d.live is None else str(d.live)
                rebuilt = "-" if d.rebuilt is None else str(d.rebuilt)
                lines.append(f"  {d.sku:<32} {live:>10} {rebuilt:>10}")
        return "\n".join(lines)


def source_topics() -> list[str]:
    return sorted({catalog.event_type(name).topic for name in SOURCE_EVENTS})


def rebuild_inventory(
    settings: ConnectionSettings,
    *,
    start=BEGINNING,
    into: str | None = None,
    timeout_s: float = 300.0,
    keep: bool = False,
    live_topic: str = LIVE_LEVELS_TOPIC,
    live_app_id: str | None = LIVE_APP_ID,
    sources: list[str] | None = None,
) -> RebuildReport:
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]
    app_id = f"rebuild-inventory-{stamp}"
    into = into or f"{LIVE_LEVELS_TOPIC}.rebuild-{stamp}"
    outputs = {"levels": into, "alerts": f"{app_id}.alerts", "summary": f"{app_id}.summary"}
    sources = sources or source_topics()
    admin = AdminClient(settings.kafka_conf())
    ends = _ends(settings, sources)
    _create_topics(admin, settings, outputs)
    start_bound = parse_bound(start, BEGINNING)
    notes = []
    if start_bound.kind != BEGINNING:
        _commit_start(admin, settings, app_id, sources, start_bound)
        notes.append(
            f"rebuilt from {start_bound.describe()}: events before it are missing, so "
            "differences are expected; use --from beginning for a complete table"
        )
    workdir = Path(tempfile.mkdtemp(prefix="rebuild-inventory-"))
    log = workdir / "faust.log"
    proc = _spawn(settings, app_id, outputs, workdir, log)
    try:
        deadline = time.monotonic() + timeout_s
        _wait_caught_up(admin, settings, app_id, ends, deadline, proc, log)
        if live_app_id:
            live_note = _wait_live(admin, settings, live_app_id, ends, deadline)
            if live_note:
                notes.append(live_note)
    finally:
        _stop(proc)
    try:
        live = read_levels(settings, live_topic)
        rebuilt = read_levels(settings, into)
    finally:
        if not keep:
            _cleanup(admin, settings, app_id, outputs, into)
            shutil.rmtree(workdir, ignore_errors=True)
    rows = diff_levels(live, rebuilt)
    return RebuildReport(
        topic=into if keep else f"{into} (deleted; --keep keeps it)",
        live_topic=live_topic,
        skus=len(set(live) | set(rebuilt)),
        differences=len(rows),
        rows=rows,
        seconds=time.monotonic() - started,
        notes=notes,
    )


def diff_levels(live: dict[str, int], rebuilt: dict[str, int]) -> list[Difference]:
    """SKUs whose on-hand level differs, or that only one side knows."""
    return [
        Difference(sku, live.get(sku), rebuilt.get(sku))
        for sku in sorted(set(live) | set(rebuilt))
        if live.get(sku) != rebuilt.get(sku)
    ]


def read_levels(settings: ConnectionSettings, topic: str) -> dict[str, int]:
    """The last InventoryLevel.on_hand per SKU (the compacted topic's current view)."""
    levels: dict[str, int] = {}
    replay = Replay(
        settings, topic, unmask=True, allow_empty=True, where=["event_type=InventoryLevel"]
    )
    for record in replay:
        levels[record.value["sku"]] = record.value["on_hand"]
    return levels


# -- offsets ------------------------------------------------------------------------------------


def _ends(settings, topics: list[str]) -> dict[tuple[str, int], int]:
    consumer = make_consumer(settings)
    try:
        ends = {}
        for topic in topics:
            fixed = resolve(
                consumer,
                topic,
                Bound(END),
                Bound(END),
                address=settings.bootstrap_servers,
                timeout_s=max(settings.timeout_s, 5.0),
            )
            ends.update({(topic, p.partition): (p.low, p.high) for p in fixed.partitions})
        return ends
    finally:
        consumer.close()


def _behind(admin, settings, group: str, ends: dict) -> dict:
    committed = committed_offsets(admin, settings, group)
    behind = {}
    for tp, (low, high) in ends.items():
        if high > low and committed.get(tp, -1) < high:
            behind[tp] = (committed.get(tp), high)
    return behind


def _wait_caught_up(admin, settings, app_id, ends, deadline, proc, log: Path) -> None:
    """Until the copy's group has committed past `ends`, then past its re-keyed topic's end."""
    _wait_group(admin, settings, app_id, ends, deadline, proc, log)
    internal = _internal_topics(admin, settings, app_id, "stock-changes")
    if internal:
        # Sources done: the per-SKU changes it re-keyed must be applied too.
        _wait_group(admin, settings, app_id, _ends(settings, internal), deadline, proc, log)


def _wait_group(admin, settings, group, ends, deadline, proc=None, log=None) -> None:
    while True:
        if proc is not None and proc.poll() is not None:
            raise ReplayError(
                f"the rebuild's inventory app exited with status {proc.returncode}; "
                f"its log ends with:\n{_tail(log)}"
            )
        behind = _behind(admin, settings, group, ends)
        if not behind:
            return
        if time.monotonic() > deadline:
            detail = ", ".join(
                f"{t}[{p}] at {c} of {h}" for (t, p), (c, h) in sorted(behind.items())[:6]
            )
            raise _NotCaughtUp(
                f"group {group!r} has not caught up in time ({detail}); raise --timeout"
                + (f", or see the log of the rebuild's app:\n{_tail(log)}" if log else "")
            )
        time.sleep(POLL_S)


class _NotCaughtUp(ReplayError):
    pass


def _wait_live(admin, settings, live_app_id, ends, deadline) -> str | None:
    """Let the live app reach the same source offsets, so both saw the same events."""
    if not committed_offsets(admin, settings, live_app_id):
        return (
            f"the live app's group {live_app_id!r} has no committed offsets; the diff is "
            "against the live topic as it is"
        )
    try:
        _wait_group(admin, settings, live_app_id, ends, deadline)
        internal = _internal_topics(admin, settings, live_app_id, "stock-changes")
        if internal:
            _wait_group(admin, settings, live_app_id, _ends(settings, internal), deadline)
    except _NotCaughtUp:
        return (
            f"the live app ({live_app_id}) had not caught up with the same source offsets "
            "before the timeout; differences may only be its lag"
        )
    return None


def _internal_topics(admin, settings, app_id: str, suffix: str) -> list[str]:
    name = f"{app_id}-{suffix}"
    names = admin.list_topics(timeout=max(settings.timeout_s, 5.0)).topics
    return [name] if name in names else []


def _commit_start(admin, settings, group, topics, bound: Bound) -> None:
    consumer = make_consumer(settings)
    try:
        offsets = []
        for topic in topics:
            fixed = resolve(
                consumer,
                topic,
                bound,
                Bound(END),
                address=settings.bootstrap_servers,
                timeout_s=max(settings.timeout_s, 5.0),
            )
            offsets += [TopicPartition(topic, p.partition, p.start) for p in fixed.partitions]
    finally:
        consumer.close()
    request = ConsumerGroupTopicPartitions(group, offsets)
    admin.alter_consumer_group_offsets([request])[group].result(timeout=30)


# -- topics and the process ---------------------------------------------------------------------


def _create_topics(admin, settings, outputs: dict[str, str]) -> None:
    partitions = _partitions(admin, settings, LIVE_LEVELS_TOPIC, default=3)
    new = [
        NewTopic(
            outputs["levels"],
            num_partitions=partitions,
            replication_factor=1,
            config={"cleanup.policy": "compact"},
        ),
        NewTopic(outputs["alerts"], num_partitions=3, replication_factor=1),
        NewTopic(outputs["summary"], num_partitions=3, replication_factor=1),
    ]
    for name, future in admin.create_topics(new).items():
        try:
            future.result(timeout=30)
        except KafkaException as exc:
            raise ReplayError(f"could not create rebuild topic {name!r}: {exc}") from exc


def _partitions(admin, settings, topic: str, default: int) -> int:
    found = admin.list_topics(topic, timeout=max(settings.timeout_s, 5.0)).topics.get(topic)
    return len(found.partitions) if found is not None and found.partitions else default


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spawn(settings, app_id: str, outputs: dict, workdir: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "SCHEMA_REGISTRY_URL": settings.schema_registry_url,
            "STREAMS_APP_ID": app_id,
            "STREAMS_WEB_HOST": "127.0.0.1",
            "STREAMS_WEB_PORT": str(_free_port()),
            "STREAMS_DATA_DIR": str(workdir / "data"),
            "STREAMS_STORE": "memory",
            "STREAMS_LEVELS_TOPIC": outputs["levels"],
            "STREAMS_ALERTS_TOPIC": outputs["alerts"],
            "STREAMS_SUMMARY_TOPIC": outputs["summary"],
        }
    )
    argv = [sys.executable, "-m", "faust", "-A", "streams.shop.inventory", "worker", "-l", "warn"]
    with open(log, "ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _cleanup(admin, settings, app_id: str, outputs: dict, into: str) -> None:
    names = admin.list_topics(timeout=max(settings.timeout_s, 5.0)).topics
    doomed = sorted({t for t in names if t.startswith(app_id)} | set(outputs.values()))
    failures = []
    for name, future in admin.delete_topics(doomed).items():
        try:
            future.result(timeout=30)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:  # already gone: fine
                failures.append(f"topic {name}: {exc}")
    try:
        admin.delete_consumer_groups([app_id])[app_id].result(timeout=30)
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.GROUP_ID_NOT_FOUND:  # never committed: fine
            failures.append(f"group {app_id}: {exc}")
    if failures:
        raise ReplayError(
            "could not delete what the rebuild created: " + "; ".join(failures)
            + ". Delete them by hand (kafka-topics --delete, kafka-consumer-groups --delete)"
        )


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log written)"
