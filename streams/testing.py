"""A harness for stream apps in tests and benchmarks, against a real broker and registry.

`WorkerProcess` runs any declared app (or any faust app by dotted path) as its own process
with its own app id, web port and state dir; `publish` writes `(event_type, record)` pairs
with the shared EventSerializer and headers; `read_topic`, `topic_size`, `create_topics`,
`free_port` and `wait_until` are the small pieces tests need around them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from deploy.runtime.ports import free_port  # noqa: F401  (the tests import it from here)
from schemas import catalog
from schemas import project as projects
from schemas.serde import EventSerializer, event_headers
from streams import worker


def publish(settings, serializer: EventSerializer, events, *, flush_timeout_s: float = 30.0):
    """Produce `(event_type, record)` pairs to their catalog topics, keyed by the key field."""
    producer = Producer(settings.kafka_conf(**{"enable.idempotence": True, "linger.ms": 5}))
    for event_type, record in events:
        spec = catalog.event_type(event_type)
        producer.produce(
            spec.topic,
            key=str(record[spec.key_field]).encode(),
            value=serializer.serialize(event_type, record),
            headers=event_headers(event_type, record),
        )
        producer.poll(0)
    remaining = producer.flush(flush_timeout_s)
    if remaining:
        raise TimeoutError(f"{remaining} events not delivered within {flush_timeout_s}s")


# -- driving worker processes (tests, benchmarks) ---------------------------------------------


class WorkerProcess:
    """One stream app's worker (`faust -A <app> worker`) with its own env, port and state dir.

    `app` is a name declared in `project` (default: this process's project); `target` runs
    another faust app ("package.module:app", e.g. a benchmark's) under that name instead.
    """

    def __init__(self, app: str, settings, *, app_id: str, workdir, web_port: int,
                 env: dict | None = None, target: str | None = None,
                 project: projects.Project | None = None):
        project = project or projects.current()
        self.app = app
        self.app_id = app_id
        self.web_port = web_port
        self.workdir = Path(workdir)
        self.argv = worker.argv(target) if target else worker.declared_argv(app, project)
        self.env = {
            **worker.env(app, project),
            "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "SCHEMA_REGISTRY_URL": settings.schema_registry_url,
            "STREAMS_APP_ID": app_id,
            "STREAMS_WEB_PORT": str(web_port),
            "STREAMS_DATA_DIR": str(self.workdir / "data"),
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def log(self) -> Path:
        return self.workdir / "worker.log"

    def start(self, *, timeout_s: float = 90.0) -> WorkerProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")}
        env.update(self.env)
        with open(self.log, "ab") as log:
            log.write(f"\n=== start {self.starts + 1} ===\n".encode())
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                cwd=self.workdir, start_new_session=True,
            )
        self.starts += 1
        try:
            wait_until(self.healthy, timeout_s, f"{self.app_id} web server on {self.url}",
                       log=self.log, alive=lambda: self.proc.poll() is None)
        except AssertionError:
            self.kill9()  # a worker that never became healthy must not outlive the test
            raise
        return self

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def get(self, path: str, timeout_s: float = 10.0) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=timeout_s)

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM (faust's clean shutdown), then SIGKILL if it hangs past `timeout_s`."""
        if not self.proc or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill9()


def wait_until(check, timeout_s: float, what: str, *, interval_s: float = 0.5, log=None,
               alive=None):
    """Poll `check()` until it returns a truthy value; AssertionError naming `what` on timeout."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        if alive is not None and not alive():
            break
        time.sleep(interval_s)
    tail = ""
    if log is not None:
        lines = Path(log).read_text(errors="replace").splitlines()[-25:]
        tail = "\n" + "\n".join(lines)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last: {last!r}){tail}")


def topic_size(settings, topic: str) -> int:
    """Records in `topic` so far: the sum of its partitions' high watermarks."""
    consumer = Consumer(settings.kafka_conf(**{"group.id": "streams-size-probe"}))
    try:
        parts = consumer.list_topics(topic, timeout=5).topics[topic].partitions
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1] for p in parts
        )
    finally:
        consumer.close()


def read_topic(settings, topic: str, *, timeout_s: float = 30.0) -> list:
    """Every record currently in `topic` (all partitions, up to the high watermarks)."""
    consumer = Consumer(settings.kafka_conf(**{
        "group.id": f"streams-reader-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }))
    try:
        metadata = consumer.list_topics(topic, timeout=settings.timeout_s)
        partitions = list(metadata.topics[topic].partitions)
        ends = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, p), timeout=settings.timeout_s
            )
            if high > low:
                ends[p] = high
        if not ends:
            return []
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        records, deadline = [], time.monotonic() + timeout_s
        while ends and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            records.append(msg)
            if msg.offset() + 1 >= ends.get(msg.partition(), 0):
                ends.pop(msg.partition(), None)
        if ends:
            raise TimeoutError(f"{topic}: partitions {sorted(ends)} not read within {timeout_s}s")
        return records
    finally:
        consumer.close()


def create_topics(settings, names, *, partitions: int = 3, compacted: bool = False) -> None:
    admin = AdminClient(settings.kafka_conf())
    config = {"cleanup.policy": "compact"} if compacted else {}
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=partitions, replication_factor=1, config=config)
         for n in names]
    )
    for future in futures.values():
        future.result(timeout=30)
