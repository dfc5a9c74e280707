"""`pipeline rebuild <app>`: re-derive a stream app's table into a new topic, then diff it.

Works for any app declared with its output in the project's declaration:

    [tool.event-pipeline.streams]
    revenue = { app = "billing.streams:app", table = "totals", output_topic = "billing.totals" }

The stream app is not imported: a copy of it runs as a separate process (`faust -A <app>
worker`) under another app id (so another consumer group, other internal and changelog topics
and state), through the `STREAMS_*` variables of `streams/settings.py`: its `output_topic` is
written to the rebuild's topic (STREAMS_OUTPUT_TOPICS), every other output to a topic of its
own (STREAMS_OUTPUT_PREFIX), so nothing live is touched (no alert or mail is sent again).

The end offsets of the source topics are fixed first. The copy tells which topics it consumes
(its `/health`); once its group has committed past those ends, and then past the end of each
internal topic it re-keys through, it is stopped, and the last record per key of the copy's
output topic is compared with the live output topic's (payload fields; the metadata of derived
events, such as their producer, differs by design).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from consumers.replay.errors import ReplayError
from consumers.replay.offsets import committed_offsets
from consumers.replay.ranges import BEGINNING, END, Bound, parse_bound, resolve
from consumers.replay.reader import make_consumer
from consumers.replay.session import Replay
from deploy.runtime.ports import free_port
from schemas import catalog, project
from schemas.config import ConnectionSettings

logger = logging.getLogger(__name__)

POLL_S = 1.0
HEALTH_TIMEOUT_S = 5.0


class NotRebuildable(project.ProjectError):
    """The app's declaration does not name the table and output topic to rebuild."""


@dataclass
class Difference:
    key: str
    live: object
    rebuilt: object


@dataclass
class RebuildReport:
    app: str
    table: str
    topic: str
    live_topic: str
    keys: int
    differences: int
    rows: list[Difference] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = [
            f"{self.app}: table {self.table!r} rebuilt into {self.topic} in {self.seconds:.1f}s: "
            f"{self.keys} keys, {self.differences} differences against {self.live_topic}"
        ]
        lines += [f"note: {n}" for n in self.notes]
        if self.rows:
            lines.append(f"  {'key':<32} {'live':<30} {'rebuilt':<30}")
            for d in self.rows:
                live, rebuilt = _show(d.key, d.live), _show(d.key, d.rebuilt)
                lines.append(f"  {d.key:<32} {live:<30} {rebuilt:<30}")
        return "\n".join(lines)


def rebuildable(name: str) -> project.StreamSpec:
    """The declared app `name`, which must name its `table` and `output_topic`."""
    current = project.current()
    spec = current.stream(name)
    missing = [key for key in ("table", "output_topic") if not getattr(spec, key)]
    if missing:
        raise NotRebuildable(
            f"stream app {name!r} declares no {' and no '.join(missing)} in {current.source}, "
            "so there is nothing to rebuild and diff; declare them: "
            f"[{project.TABLE}.streams] {name} = {{ app = \"{spec.app}\", table = \"<its table>\", "
            "output_topic = \"<the topic it writes the table's values to>\" }"
        )
    return spec


def rebuild(
    settings: ConnectionSettings,
    name: str,
    *,
    start=BEGINNING,
    into: str | None = None,
    timeout_s: float = 300.0,
    keep: bool = False,
    live_topic: str | None = None,
    live_app_id: str | None = None,
) -> RebuildReport:
    """Rebuild app `name`'s table from its sources into `into` and diff it with `live_topic`
    (default: its declared output topic). `live_app_id` (default: the app's own id, "" for
    none) is waited for, so that both saw the same source events."""
    spec = rebuildable(name)
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]
    app_id = f"rebuild-{name}-{stamp}"
    into = into or f"{spec.output_topic}.rebuild-{stamp}"
    live_topic = live_topic or spec.output_topic
    live_app_id = spec.app_id if live_app_id is None else live_app_id
    admin = AdminClient(settings.kafka_conf())
    existing = set(admin.list_topics(timeout=_timeout(settings)).topics)
    if live_topic not in existing:
        raise ReplayError(
            f"the live output topic {live_topic!r} does not exist; start the app "
            f"(`pipeline up`) or name the topic to diff against with --live-topic"
        )
    # Every catalog topic could be a source: fix their ends now, keep those the copy consumes.
    ends = _ends(settings, [t for t in catalog.topics() if t in existing and t != live_topic])
    _create_like(admin, settings, into, live_topic)
    start_bound = parse_bound(start, BEGINNING)
    notes = []
    if start_bound.kind != BEGINNING:
        _commit_start(admin, settings, app_id, sorted({t for t, _ in ends}), start_bound)
        notes.append(
            f"rebuilt from {start_bound.describe()}: events before it are missing, so "
            "differences are expected; use --from beginning for a complete table"
        )
    workdir = Path(tempfile.mkdtemp(prefix=f"rebuild-{name}-"))
    log = workdir / "faust.log"
    port = free_port()
    proc = _spawn(settings, spec, app_id, into, port, workdir, log)
    try:
        deadline = time.monotonic() + timeout_s
        consumed = _consumed_topics(port, deadline, proc, log)
        sources = [t for t in consumed if not t.startswith(f"{app_id}-")]
        internal = [t for t in consumed if t.startswith(f"{app_id}-")]
        source_ends = {tp: e for tp, e in ends.items() if tp[0] in sources}
        source_ends.update(_ends(settings, [t for t in sources if t not in {t for t, _ in ends}]))
        _wait_caught_up(admin, settings, app_id, source_ends, internal, deadline, proc, log)
        if live_app_id:
            renamed = [live_app_id + t[len(app_id):] for t in internal]
            live_note = _wait_live(admin, settings, live_app_id, source_ends, renamed, deadline)
            if live_note:
                notes.append(live_note)
    finally:
        _stop(proc)
    try:
        live = read_table(settings, live_topic)
        rebuilt = read_table(settings, into)
    finally:
        if not keep:
            _cleanup(admin, settings, app_id, into)
            shutil.rmtree(workdir, ignore_errors=True)
    rows = diff_by_key(live, rebuilt)
    return RebuildReport(
        app=name,
        table=spec.table,
        topic=into if keep else f"{into} (deleted; --keep keeps it)",
        live_topic=live_topic,
        keys=len(set(live) | set(rebuilt)),
        differences=len(rows),
        rows=rows,
        seconds=time.monotonic() - started,
        notes=notes,
    )


def diff_by_key(live: Mapping, rebuilt: Mapping) -> list[Difference]:
    """Keys whose value differs, or that only one side knows."""
    return [
        Difference(key, live.get(key), rebuilt.get(key))
        for key in sorted(set(live) | set(rebuilt))
        if live.get(key) != rebuilt.get(key)
    ]


# The name tests/unit/replay still import; drop it once they use diff_by_key.


def read_table(settings: ConnectionSettings, topic: str) -> dict[str, dict]:
    """The last record's payload per key (the compacted topic's current view); a tombstone
    removes its key. Metadata fields are left out: a copy's derived events carry its own."""
    rows: dict[str, dict] = {}
    for record in Replay(settings, topic, unmask=True, allow_empty=True):
        if record.value is None:
            rows.pop(record.key, None)
        else:
            rows[record.key] = {
                k: v for k, v in record.value.items() if k not in catalog.METADATA_FIELDS
            }
    return rows


def _show(key: str, payload) -> str:
    if payload is None:
        return "-"
    if not isinstance(payload, Mapping):
        return str(payload)
    return ", ".join(f"{k}={v}" for k, v in payload.items() if str(v) != key) or "(key only)"


# -- offsets ------------------------------------------------------------------------------------


def _timeout(settings) -> float:
    return max(settings.timeout_s, 5.0)


def _ends(settings, topics: list[str]) -> dict[tuple[str, int], tuple[int, int]]:
    if not topics:
        return {}
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
                timeout_s=_timeout(settings),
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


def _wait_caught_up(admin, settings, group, ends, internal, deadline, proc=None, log=None):
    """Until `group` has committed past `ends`, then past the ends of its `internal` topics
    (re-keyed records still to apply), until those ends no longer move."""
    _wait_group(admin, settings, group, ends, deadline, proc, log)
    previous = None
    while internal:
        internal_ends = _ends(settings, internal)
        if internal_ends == previous:
            return
        _wait_group(admin, settings, group, internal_ends, deadline, proc, log)
        previous = internal_ends


def _wait_group(admin, settings, group, ends, deadline, proc=None, log=None) -> None:
    while True:
        if proc is not None and proc.poll() is not None:
            raise ReplayError(
                f"the rebuild's copy of the app exited with status {proc.returncode}; "
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


def _wait_live(admin, settings, live_app_id, ends, internal, deadline) -> str | None:
    """Let the live app reach the same source offsets, so both saw the same events."""
    if not committed_offsets(admin, settings, live_app_id):
        return (
            f"the live app's group {live_app_id!r} has no committed offsets; the diff is "
            "against the live topic as it is"
        )
    existing = set(admin.list_topics(timeout=_timeout(settings)).topics)
    try:
        _wait_caught_up(
            admin, settings, live_app_id, ends, [t for t in internal if t in existing], deadline
        )
    except _NotCaughtUp:
        return (
            f"the live app ({live_app_id}) had not caught up with the same source offsets "
            "before the timeout; differences may only be its lag"
        )
    return None


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
                timeout_s=_timeout(settings),
            )
            offsets += [TopicPartition(topic, p.partition, p.start) for p in fixed.partitions]
    finally:
        consumer.close()
    request = ConsumerGroupTopicPartitions(group, offsets)
    admin.alter_consumer_group_offsets([request])[group].result(timeout=30)


# -- topics and the process ---------------------------------------------------------------------


def _create_like(admin, settings, name: str, like: str) -> None:
    """Create `name` with the partitions and cleanup policy of the live output topic."""
    found = admin.list_topics(like, timeout=_timeout(settings)).topics.get(like)
    partitions = len(found.partitions) if found is not None and found.partitions else 3
    resource = ConfigResource(ResourceType.TOPIC, like)
    try:
        entries = admin.describe_configs([resource])[resource].result(timeout=30)
        policy = entries["cleanup.policy"].value
    except (KafkaException, KeyError):
        policy = "compact"  # a table's view
    topic = NewTopic(name, num_partitions=partitions, replication_factor=1,
                     config={"cleanup.policy": policy})
    try:
        admin.create_topics([topic])[name].result(timeout=30)
    except KafkaException as exc:
        raise ReplayError(f"could not create rebuild topic {name!r}: {exc}") from exc


def _spawn(settings, spec, app_id: str, into: str, port: int, workdir: Path,
           log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")}
    env.update(project.current().env())
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "SCHEMA_REGISTRY_URL": settings.schema_registry_url,
            "STREAMS_APP": spec.name,
            "STREAMS_APP_ID": app_id,
            "STREAMS_WEB_HOST": "127.0.0.1",
            "STREAMS_WEB_PORT": str(port),
            "STREAMS_DATA_DIR": str(workdir / "data"),
            "STREAMS_STORE": "memory",
            "STREAMS_OUTPUT_TOPICS": f"{spec.output_topic}={into}",
            # Everything else it writes (alerts, summaries, ...) goes to topics of its own.
            "STREAMS_OUTPUT_PREFIX": f"{app_id}.",
        }
    )
    # streams.cli runs faust's own command line (areas never import each other: by name).
    argv = [sys.executable, "-m", "streams.cli", "-A", spec.app, "worker", "-l", "warn"]
    with open(log, "ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
            start_new_session=True,
        )


def _consumed_topics(port: int, deadline: float, proc, log: Path) -> list[str]:
    """The topics the copy commits offsets for, from its `/health` once it is ready."""
    url = f"http://127.0.0.1:{port}/health"
    while True:
        if proc.poll() is not None:
            raise ReplayError(
                f"the rebuild's copy of the app exited with status {proc.returncode}; "
                f"its log ends with:\n{_tail(log)}"
            )
        try:
            response = httpx.get(url, timeout=HEALTH_TIMEOUT_S)
        except httpx.HTTPError:
            response = None
        if response is not None and response.status_code == 200:
            consumed = response.json().get("consumes")
            if consumed is None:
                raise ReplayError(
                    "the app's /health does not say which topics it consumes; build its "
                    "health page with streams.web.add_health (see streams/README.md)"
                )
            return consumed
        if response is not None and response.status_code == 404:
            raise ReplayError(
                "the app serves no /health page; add one with streams.web.add_health(app) "
                "(see streams/README.md) so that the rebuild knows when it is ready"
            )
        if time.monotonic() > deadline:
            raise _NotCaughtUp(
                f"the rebuild's copy of the app did not become ready in time; raise --timeout, "
                f"or see its log:\n{_tail(log)}"
            )
        time.sleep(POLL_S)


def _stop(proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _cleanup(admin, settings, app_id: str, into: str) -> None:
    names = admin.list_topics(timeout=_timeout(settings)).topics
    # The copy's internal, changelog, dead-letter and redirected output topics.
    doomed = sorted({t for t in names if t.startswith(app_id)} | {into})
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
