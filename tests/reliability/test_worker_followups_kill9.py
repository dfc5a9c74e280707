"""kill -9 a worker whose handler publishes a follow-up event, again and again while events
flow: every handled event has exactly one follow-up in the outbox (deterministic ids), and the
inbox holds each event once. The inbox row and the follow-up commit together or not at all.

The worker runs as a user's project would run it: a throwaway project declares its events,
topic catalog, Django settings (with `producer_django.events` installed and migrated) and the
handler (`followup_handler.py`, importable through PYTHONPATH); the worker finds its database
in those Django settings.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import uuid
from pathlib import Path

from consumers.db import Database
from consumers.inbox import Inbox
from consumers.testing import metadata, publish, wait_until
from deploy.runtime import process
from deploy.runtime.process import ProcessSpec
from schemas import project as projects
from schemas.catalog import event_schema
from schemas.ids import derived_event_id
from schemas.serde import EventSerializer

EVENTS = 2000
KILLS = 5


def _write_project(root: Path, source_topic: str, followup_topic: str, database: Path) -> Path:
    """A minimal adopting project: two events, a catalog, Django settings, one worker."""
    avro = root / "avro"
    avro.mkdir(parents=True)
    for name in ("TaskQueued", "TaskDone"):
        schema = event_schema(name, "followups.events", [{"name": "task_id", "type": "string"}])
        (avro / f"{name}.avsc").write_text(json.dumps(schema, indent=2))
    (root / "topics.toml").write_text(
        "[defaults]\npartitions = 3\nreplication_factor = 1\n\n"
        f'[topics."{source_topic}"]\nevents = {{ TaskQueued = "task_id" }}\n\n'
        f'[topics."{followup_topic}"]\nevents = {{ TaskDone = "task_id" }}\n'
    )
    site = root / "followups_site"
    site.mkdir()
    (site / "__init__.py").write_text("")
    (site / "settings.py").write_text(
        'SECRET_KEY = "tests-only"\n'
        'INSTALLED_APPS = ["producer_django.events"]\n'
        f'DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", '
        f'"NAME": {str(database)!r}}}}}\n'
        'USE_TZ = True\n'
        'DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"\n'
        'PIPELINE = {"PRODUCER_NAME": "followups"}\n'
    )
    (root / "pyproject.toml").write_text(
        '[tool.event-pipeline]\n'
        'django_settings = "followups_site.settings"\n'
        'schemas = ["avro"]\n'
        'topics = "topics.toml"\n\n'
        '[tool.event-pipeline.workers.chain]\n'
        'handler = "followup_handler:FollowUpPublisher"\n'
        'options = { followup = "TaskDone" }\n'
    )
    return root


def _tasks(n: int) -> list[dict]:
    events = []
    for i in range(n):
        task_id = f"task-{i}"
        events.append({**metadata(task_id), "task_id": task_id})
    return events


def test_kill9_leaves_exactly_one_follow_up_per_handled_event(
    settings, registry_client, make_topic, unique, tmp_path
):
    source = make_topic("followups-src", partitions=3)
    followup_topic = f"followups-done.{unique}"
    database = tmp_path / "project.sqlite3"
    root = _write_project(tmp_path / "project", source, followup_topic, database)
    declared = projects.load(root / "pyproject.toml")
    group = f"followups-{unique}"
    env = {
        **declared.env(),
        "PYTHONPATH": f"{declared.env()['PYTHONPATH']}:{Path(__file__).parent}",
        "PIPELINE_HOME": str(tmp_path / "home"),
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "SCHEMA_REGISTRY_URL": settings.schema_registry_url,
    }
    migrate = process.spawn(ProcessSpec(
        argv=[sys.executable, "-m", "producer_django.manage", "migrate", "--noinput"],
        log=tmp_path / "migrate.log",
        env={**env, "DJANGO_SETTINGS_MODULE": "followups_site.settings"},
    ))
    wait_until(lambda: not process.alive(migrate), 120, what="migrate to finish")
    db = Database(f"sqlite:///{database}")
    assert db.fetchall("SELECT count(*) FROM events_outbox") == [(0,)], (
        (tmp_path / "migrate.log").read_text())

    worker_spec = ProcessSpec(
        argv=[sys.executable, "-m", "deploy.cli", "worker", "chain", "--group", group,
              "--topics", source, "--instance-id", f"{group}-1", "--retry-delays", "1,2"],
        log=tmp_path / "worker.log",
        env=env,
    )
    events = _tasks(EVENTS)
    inbox = Inbox(db, group)
    inbox.create()  # so it can be counted before the worker's first start
    projects.use(declared)
    try:
        serializer = EventSerializer(registry_client, auto_register=True)
        rng = random.Random(9)

        def _produce_steadily():
            for start in range(0, EVENTS, 100):
                publish(settings, serializer, source, "TaskQueued", events[start:start + 100],
                        key_field="task_id")
                threading.Event().wait(0.25)

        # The first batch registers the schema before the producer thread starts.
        producer = threading.Thread(target=_produce_steadily, daemon=True)
        producer.start()
        worker = None
        kills = 0
        try:
            for _ in range(KILLS):
                before = inbox.count()
                worker = process.spawn(worker_spec)
                # Kill while it is handling: after it has committed some events of this run.
                target = before + rng.randint(50, 250)
                wait_until(lambda t=target: inbox.count() >= t, 90,
                           what=f"the worker to handle {target} events", interval_s=0.02)
                process.kill9(worker)
                kills += 1
            producer.join(120)
            assert not producer.is_alive(), "producer did not finish"
            worker = process.spawn(worker_spec)
            wait_until(lambda: inbox.count() >= EVENTS, 120, what=f"{EVENTS} handled events")
            # Let any redelivery after the last kill settle before counting.
            threading.Event().wait(3)
            process.stop(worker, timeout_s=30)
            assert not process.alive(worker), "worker ignored SIGTERM"
        finally:
            process.kill9(worker)
            producer.join(5)
    finally:
        projects.use(None)

    handled = {r[0] for r in db.fetchall(
        "SELECT event_id FROM consumer_inbox WHERE consumer_group = %s", (group,))}
    rows = db.fetchall("SELECT event_id, event_type, topic, payload FROM events_outbox")
    db.close()
    payloads = [json.loads(r[3]) for r in rows]
    causes = [p["causation_id"] for p in payloads]
    print(f"\nkill -9 x{kills}: {EVENTS} events, {len(handled)} in the inbox, "
          f"{len(rows)} follow-ups in the outbox")
    assert handled == {e["event_id"] for e in events}, "lost or unexpected inbox rows"
    assert len(rows) == len(handled), "follow-ups not exactly one per handled event"
    assert set(causes) == handled and len(set(causes)) == len(causes)
    ids = [str(uuid.UUID(r[0])) for r in rows]
    assert len(set(ids)) == len(ids)
    assert all(p["event_id"] == derived_event_id(p["causation_id"], "TaskDone", 0)
               and p["event_id"] == event_id for p, event_id in zip(payloads, ids, strict=True))
    assert {r[1] for r in rows} == {"TaskDone"} and {r[2] for r in rows} == {followup_topic}
    assert all(p["producer"] == group for p in payloads)
