"""Background tasks vs the outbox-event path of the same project, and commit -> start latency.

    python -m benchmarks.bench_tasks [--count N] [--rounds R] [--rate R] [--seconds S]

A throwaway project (SQLite) declares one event with a no-op transactional worker, and a no-op
task. Its relay, event worker and tasks worker run as processes, as `pipeline up` runs them.
1. Throughput, interleaved, best of R rounds: N `noop.delay()` each in its own
   `transaction.atomic()` until the N-th task has run, vs N `publish()` of the event each in its
   own transaction until the worker has handled the N-th. Target: tasks >= 0.7 of events.
2. Latency: `noop_started.delay()` at a steady rate; for each, the time from the commit of
   its transaction to the start of the task (the task returns its start time). p50/p99.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from benchmarks.common import report, report_figure, running_stack
from consumers.testing import wait_until
from deploy.runtime import process
from deploy.runtime.process import ProcessSpec
from schemas import project as projects

TARGET = 0.7
_METADATA = [
    {"name": "event_id", "type": "string"},
    {"name": "occurred_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "aggregate_id", "type": "string"},
    {"name": "aggregate_version", "type": "long"},
    {"name": "correlation_id", "type": "string"},
    {"name": "causation_id", "type": ["null", "string"], "default": None},
    {"name": "producer", "type": "string"},
]
FILES = {
    "bench_site/__init__.py": "",
    "bench_site/settings.py": '''
        from pathlib import Path
        SECRET_KEY = "bench"
        INSTALLED_APPS = ["producer_django.events", "producer_django.tasks", "bench_app"]
        DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                                 "NAME": Path(__file__).resolve().parent.parent / "db.sqlite3",
                                 "OPTIONS": {"timeout": 60, "transaction_mode": "IMMEDIATE"}}}
        USE_TZ = True
        DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
        PIPELINE = {"PRODUCER_NAME": "bench", "POLL_INTERVAL_S": 0.01}
    ''',
    "bench_app/__init__.py": "",
    "bench_app/tasks.py": '''
        import time
        from producer_django.tasks import task

        @task
        def noop():
            return None

        @task
        def noop_started():
            return time.time()
    ''',
    "bench_app/handlers.py": '''
        class Pings:
            name = "pings"
            topics = ("bench.pings",)
            transactional = True

            def open(self, context):
                pass

            def handle(self, event, tx):
                pass

            def close(self):
                pass
    ''',
    "topics.toml": '''
        [defaults]
        partitions = 3
        replication_factor = 1

        [topics."bench.pings"]
        events = { BenchPinged = "ping_id" }
    ''',
    "pyproject.toml": '''
        [tool.event-pipeline]
        django_settings = "bench_site.settings"
        schemas = ["avro"]
        topics = "topics.toml"
        tasks = []

        [tool.event-pipeline.workers]
        pings = "bench_app.handlers:Pings"
    ''',
}

DRIVER = '''
import json, time, uuid
from django.db import connection, transaction
from producer_django.events.publish import publish
from bench_app.tasks import noop, noop_started

def count(sql):
    with connection.cursor() as c:
        c.execute(sql)
        return c.fetchone()[0]

def run(kind, n):
    if kind == "tasks":
        sql = "SELECT count(*) FROM tasks_result WHERE status = 'SUCCESS'"
    else:
        sql = "SELECT count(*) FROM consumer_inbox WHERE consumer_group = 'worker-pings'"
    before = count(sql)
    started = time.perf_counter()
    for i in range(n):
        with transaction.atomic():
            if kind == "tasks":
                noop.delay()
            else:
                publish("BenchPinged", {"ping_id": str(uuid.uuid4())})
    while count(sql) < before + n:
        time.sleep(0.005)
    return n / (time.perf_counter() - started)

rates = {"tasks": 0.0, "events": 0.0}
run("tasks", 200); run("events", 200)  # warm up: clients connected, schemas looked up
for _ in range(%(rounds)d):
    for kind in ("events", "tasks"):
        rates[kind] = max(rates[kind], run(kind, %(count)d))

latencies = []
pending = []
interval = 1.0 / %(rate)f
end = time.monotonic() + %(seconds)f
next_at = time.monotonic()
while time.monotonic() < end:
    with transaction.atomic():
        result = noop_started.delay()
    pending.append((result, time.time()))
    next_at += interval
    time.sleep(max(0.0, next_at - time.monotonic()))
for result, committed in pending:
    latencies.append(result.get(timeout=120) - committed)
latencies.sort()
print(json.dumps({"rates": rates, "p50": latencies[len(latencies) // 2],
                  "p99": latencies[int(len(latencies) * 0.99)], "n": len(latencies)}))
'''


def _write_project(root: Path) -> None:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    schema = {"type": "record", "name": "BenchPinged", "namespace": "bench.events",
              "fields": [*_METADATA, {"name": "ping_id", "type": "string"}]}
    (root / "avro").mkdir()
    (root / "avro" / "BenchPinged.avsc").write_text(json.dumps(schema))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-tasks-") as tmp, running_stack() as settings:
        root = Path(tmp)
        _write_project(root)
        declared = projects.load(root / "pyproject.toml")
        env = {**os.environ, **declared.env(), "DJANGO_SETTINGS_MODULE": "bench_site.settings",
               "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
               "SCHEMA_REGISTRY_URL": settings.schema_registry_url,
               "PIPELINE_HOME": str(root / "home")}
        env.pop("DATABASE_URL", None)
        manage = [sys.executable, "-m", "producer_django.manage"]
        subprocess.run([*manage, "migrate", "--noinput"], env=env, cwd=root, check=True,
                       capture_output=True)
        with sqlite3.connect(root / "db.sqlite3") as db:
            db.execute("PRAGMA journal_mode=WAL")
        from deploy.bootstrap import apply_catalog

        projects.use(declared)
        try:
            apply_catalog(settings)
        finally:
            projects.use(None)
        pids = [process.spawn(ProcessSpec(argv=argv, log=root / log, env=env)) for argv, log in (
            ([*manage, "relay_outbox"], "relay.log"),
            ([sys.executable, "-m", "deploy.cli", "worker", "pings"], "pings.log"),
            ([sys.executable, "-m", "deploy.cli", "worker", "tasks"], "tasks.log"),
        )]
        try:
            wait_until(lambda: "consuming" in (root / "tasks.log").read_text(errors="replace")
                       and "consuming" in (root / "pings.log").read_text(errors="replace"),
                       120, what="the workers to consume")
            done = subprocess.run(
                [*manage, "shell", "-c", DRIVER % {"count": args.count, "rounds": args.rounds,
                                                   "rate": args.rate, "seconds": args.seconds}],
                env=env, cwd=root, capture_output=True, text=True, timeout=3600)
            if done.returncode != 0:
                print(done.stdout, done.stderr)
                return 1
            figures = json.loads(done.stdout.strip().splitlines()[-1])
        finally:
            for pid in pids:
                process.stop(pid, timeout_s=30)
    rates = figures["rates"]
    ok = report(".delay() + no-op task vs publish() + worker", rates["tasks"], rates["events"],
                TARGET)
    report_figure(f"commit -> task start at {args.rate:g}/s",
                  f"p50 {figures['p50'] * 1000:.0f} ms, p99 {figures['p99'] * 1000:.0f} ms "
                  f"({figures['n']} tasks)", "reported", True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
