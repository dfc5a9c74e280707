"""A throwaway Django project that uses background tasks, run as a user's project would be.

It declares one task queue of its own (so tests sharing the session broker never share a task
topic), `producer_django.events` + `producer_django.tasks` + an app `demo` whose `tasks.py`
holds the tasks the tests use; its database is a SQLite file. The worker, relay and scheduler
are real processes (`pipeline worker tasks`, `manage.py relay_outbox`, `pipeline scheduler`);
Django code of the project runs in `manage.py shell` (the test process may already have other
Django settings).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from deploy.runtime import process
from deploy.runtime.process import ProcessSpec
from schemas import project as projects

SETTINGS = '''
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "tasks-tests"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth",
                  "producer_django.events", "producer_django.tasks", "demo"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3",
                         "OPTIONS": {"timeout": 60, "transaction_mode": "IMMEDIATE"}}}
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PIPELINE = {"PRODUCER_NAME": "demo", "POLL_INTERVAL_S": 0.02}
'''

MODELS = '''
from django.db import models


class Effect(models.Model):
    """One row per run of an effect-writing task: a doubled run shows as two rows."""

    key = models.CharField(max_length=100, db_index=True)
    value = models.BigIntegerField()
'''

MIGRATION = '''
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Effect",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True)),
                ("key", models.CharField(db_index=True, max_length=100)),
                ("value", models.BigIntegerField()),
            ],
        ),
    ]
'''

TASKS = '''
import time
from pathlib import Path

from demo.models import Effect
from producer_django.tasks import task


@task
def add(x, y):
    return x + y


@task
def mul(x, y):
    return x * y


@task
def tsum(values):
    return sum(values)


@task
def noop():
    return None


@task
def step(value, key):
    """A workflow step with a database effect."""
    Effect.objects.create(key=key, value=value + 1)
    return value + 1


@task
def total(values, key):
    """A chord callback with a database effect."""
    Effect.objects.create(key=key, value=sum(values))
    return sum(values)


@task(retry_delays=(1, 2))
def flaky(path):
    """Fails its first two attempts; writes each attempt's start time to `path`."""
    with open(path, "a") as fh:
        fh.write(f"{time.time()}\\n")
    attempts = len(Path(path).read_text().splitlines())
    if attempts < 3:
        raise RuntimeError(f"attempt {attempts} fails on purpose")
    return attempts


@task
def always_fails():
    raise ValueError("this task always fails")
'''

BROKEN = '''
raise RuntimeError("this task module is broken on purpose")
'''


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())


class TaskProject:
    def __init__(self, root: Path, settings, unique: str, *, schedule: str = "",
                 broken_module: bool = False):
        self.root = root
        self.settings = settings
        self.queue = f"q{unique}"
        self.topic = projects.task_topic(self.queue)
        self.group = f"tasks-{unique}"
        self.schedule = schedule
        self.broken_module = broken_module
        self.database = root / "db.sqlite3"
        self._pids: list[int] = []

    # -- files ----------------------------------------------------------------------------------

    def write(self) -> TaskProject:
        root = self.root
        _write(root / "demo_site" / "__init__.py", "")
        _write(root / "demo_site" / "settings.py", SETTINGS)
        _write(root / "demo" / "__init__.py", "")
        _write(root / "demo" / "models.py", MODELS)
        _write(root / "demo" / "migrations" / "__init__.py", "")
        _write(root / "demo" / "migrations" / "0001_initial.py", MIGRATION)
        _write(root / "demo" / "tasks.py", TASKS)
        _write(root / "demo" / "broken.py", BROKEN)
        (root / "avro").mkdir(exist_ok=True)
        _write(root / "topics.toml", "[defaults]\npartitions = 3\nreplication_factor = 1\n")
        modules = '["demo.broken"]' if self.broken_module else "[]"
        _write(root / "pyproject.toml", f'''
            [tool.event-pipeline]
            django_settings = "demo_site.settings"
            schemas = ["avro"]
            topics = "topics.toml"
            tasks = {modules}
            task_queues = ["{self.queue}"]
            {self.schedule}
        ''')
        return self

    def declared(self) -> projects.Project:
        return projects.load(self.root / "pyproject.toml")

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
        return {**env, **self.declared().env(), "PIPELINE_HOME": str(self.root / "home"),
                "KAFKA_BOOTSTRAP_SERVERS": self.settings.bootstrap_servers,
                "SCHEMA_REGISTRY_URL": self.settings.schema_registry_url,
                "DJANGO_SETTINGS_MODULE": "demo_site.settings", "PYTHONUNBUFFERED": "1"}

    # -- setting up -------------------------------------------------------------------------------

    def prepare(self) -> TaskProject:
        """Files, migrations, topics and the task schema in the registry."""
        from deploy.bootstrap import apply_catalog

        self.write()
        self.manage("migrate", "--noinput")
        # WAL, as the workers use it: switching later needs the database to itself.
        with sqlite3.connect(self.database) as db:
            db.execute("PRAGMA journal_mode=WAL")
        projects.use(self.declared())
        try:
            apply_catalog(self.settings)
        finally:
            projects.use(None)
        return self

    def manage(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run([sys.executable, "-m", "producer_django.manage", *args],
                              cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def shell(self, code: str, timeout: float = 300) -> str:
        return self.manage("shell", "-c", textwrap.dedent(code), timeout=timeout)

    # -- processes ------------------------------------------------------------------------------

    def worker_spec(self, log_name: str = "worker.log") -> ProcessSpec:
        return ProcessSpec(
            argv=[sys.executable, "-m", "deploy.cli", "worker", "tasks", "--group", self.group,
                  "--instance-id", f"{self.group}-1"],
            log=self.root / log_name, env=self.env,
        )

    def spawn(self, spec: ProcessSpec) -> int:
        pid = process.spawn(spec)
        self._pids.append(pid)
        return pid

    def start_worker(self) -> int:
        return self.spawn(self.worker_spec())

    def start_relay(self) -> int:
        return self.spawn(ProcessSpec(
            argv=[sys.executable, "-m", "producer_django.manage", "relay_outbox"],
            log=self.root / "relay.log", env=self.env,
        ))

    def start_scheduler(self, n: int) -> int:
        return self.spawn(ProcessSpec(
            argv=[sys.executable, "-m", "deploy.cli", "scheduler"],
            log=self.root / f"scheduler-{n}.log", env=self.env,
        ))

    def stop_all(self) -> None:
        for pid in self._pids:
            process.stop(pid, timeout_s=30)
            process.kill9(pid)
        self._pids.clear()

    # -- reading ----------------------------------------------------------------------------------

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with sqlite3.connect(self.database, timeout=60) as db:
            return db.execute(sql, params).fetchall()

    def result(self, task_id: str) -> tuple | None:
        rows = self.query("SELECT status, result, traceback, attempts FROM tasks_result "
                          "WHERE task_id = ?", (task_id,))
        return rows[0] if rows else None

    def outbox_payloads(self) -> list[dict]:
        return [json.loads(r[0]) for r in self.query(
            "SELECT payload FROM events_outbox WHERE event_type = 'TaskRequested' ORDER BY id")]

    def log(self, name: str = "worker.log") -> str:
        path = self.root / name
        return path.read_text(errors="replace") if path.exists() else ""
