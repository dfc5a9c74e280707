"""Helpers for tests and benchmarks: a throwaway PostgreSQL cluster and the shop's processes.

`TemporaryPostgres` runs the machine's PostgreSQL binaries (Debian's `postgresql` package) on a
free loopback port in a temporary directory; as root it runs them as the `postgres` user,
because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from deploy.runtime.ports import free_port
from schemas.errors import PipelineError

START_TIMEOUT_S = 60


class PostgresUnavailable(PipelineError):
    """No PostgreSQL server binaries on this machine."""


def postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found; install them with "
        "`apt-get install postgresql` (what .ci/run does)"
    )


class TemporaryPostgres:
    """`with TemporaryPostgres() as pg: pg.url("shop")` -> postgres://...@127.0.0.1:<port>/shop"""

    def __init__(self):
        self.bindir = postgres_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="pipeline-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self._as_user: list[str] = []

    def __enter__(self) -> TemporaryPostgres:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync")
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w",
            "-t", str(START_TIMEOUT_S), "start", "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
            "-c max_connections=100",
        )

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                [*self._as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m",
                 "immediate", "-w", "stop"],
                capture_output=True, timeout=60,
            )
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as_user, str(self.bindir / tool), *args],
            capture_output=True, text=True, timeout=START_TIMEOUT_S + 30, cwd=self.dir,
        )
        if done.returncode != 0:
            log = self.dir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(f"{tool} failed: {done.stderr.strip()}\n{tail}")


def wait_until(predicate, timeout_s: float, interval_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


# -- reading what the relay wrote ---------------------------------------------------------------


class LoggedEvent:
    """One record of a topic, decoded with confluent-kafka's own AvroDeserializer."""

    def __init__(self, msg, value: dict):
        self.topic = msg.topic()
        self.partition = msg.partition()
        self.offset = msg.offset()
        self.key = msg.key().decode() if msg.key() else None
        self.headers = {k: v.decode() for k, v in (msg.headers() or [])}
        self.value = value

    @property
    def event_id(self) -> str:
        return self.value["event_id"]


def read_topic(settings, registry_client, topic: str, keep, *, until=None, timeout_s=60.0):
    """Every record of `topic` (from the beginning) for which `keep(key, headers)` holds.

    Reads to the end of every partition, and keeps reading until `until(events)` holds or the
    timeout passes (the relay may still be delivering).
    """
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    decode = AvroDeserializer(registry_client)
    ctx = SerializationContext(topic, MessageField.VALUE)
    consumer = Consumer(
        settings.kafka_conf(**{"group.id": f"test-reader-{time.monotonic_ns()}",
                               "enable.auto.commit": False, "enable.partition.eof": True})
    )
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        events: list[LoggedEvent] = []
        at_end: set[int] = set()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                if len(at_end) == len(parts) and (until is None or until(events)):
                    break
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition())
                    if len(at_end) == len(parts) and (until is None or until(events)):
                        break
                    continue
                raise RuntimeError(f"consumer error: {msg.error()}")
            at_end.discard(msg.partition())
            key = msg.key().decode() if msg.key() else None
            headers = {k: v.decode() for k, v in (msg.headers() or [])}
            if keep(key, headers):
                events.append(LoggedEvent(msg, decode(msg.value(), ctx)))
        return events
    finally:
        consumer.close()


def order_problems(events: list[LoggedEvent]) -> list[str]:
    """Per-aggregate order violations in log order: a version after a higher one, or a gap."""
    problems = []
    last: dict[str, int] = {}
    for ev in events:
        agg = ev.value["aggregate_id"]
        version = ev.value["aggregate_version"]
        before = last.get(agg, 0)
        if version < before:
            problems.append(f"{agg}: v{version} after v{before} (offset {ev.offset})")
        elif version > before + 1:
            problems.append(f"{agg}: v{version} follows v{before}: a version is missing before it")
        last[agg] = max(before, version)
    return problems


def query(db_url: str, sql: str, params=()) -> list[tuple]:
    """Run one SQL statement against the shop database (sqlite:/// or postgres:// URL)."""
    if db_url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(db_url[len("sqlite:///"):], timeout=30)
        try:
            with conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []
