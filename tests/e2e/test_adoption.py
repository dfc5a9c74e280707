"""A new user's Django project adopts the pipeline, as the README tells them to.

A throwaway project outside the repository (`billing_site` with a `billing` app) installs the
package from a built wheel (not the checkout), declares one event, one topic, one worker and one
faust app, and runs `pipeline up` in a PIPELINE_HOME of its own: a broker and registry of its own,
so the check that no `shop.*` topic exists means something. Then it publishes inside
`transaction.atomic()` (and once in a rolled-back transaction) and checks every effect.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from schemas.catalog import event_schema

REPO = Path(__file__).resolve().parents[2]
INVOICES = 3
STEP_TIMEOUT_S = 600

pytestmark = pytest.mark.integration

SETTINGS = '''
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "adoption-test"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "producer_django.events",
    "billing",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": BASE_DIR / "db.sqlite3", "OPTIONS": {"timeout": 30}}}
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "billing_site.urls"
PIPELINE = {"PRODUCER_NAME": "billing"}
'''

MODELS = '''
from django.db import models


class InvoiceMail(models.Model):
    """One row per handled InvoiceIssued: the worker's effect."""

    event_id = models.CharField(max_length=36, unique=True)
    invoice_id = models.CharField(max_length=64)
'''

MIGRATION = '''
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="InvoiceMail",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True)),
                ("event_id", models.CharField(max_length=36, unique=True)),
                ("invoice_id", models.CharField(max_length=64)),
            ],
        ),
    ]
'''

HANDLER = '''
class InvoiceMailer:
    """Records each invoice once, in the worker's transaction (the inbox makes it exactly once)."""

    name = "invoices"
    topics = ("billing.invoices",)
    transactional = True

    def open(self, context):
        pass

    def handle(self, event, tx):
        tx.execute(
            "INSERT INTO billing_invoicemail (event_id, invoice_id) VALUES (%s, %s)",
            (event.event_id, event.data["invoice_id"]),
        )

    def close(self):
        pass
'''

STREAM_APP = '''
"""Revenue per customer: a faust table built with the pipeline's stream toolkit."""

from streams.base import Context, make_app
from streams.settings import from_env
from streams.web import add_health


def build():
    settings = from_env("revenue")
    app = make_app(settings)
    ctx = Context(app, settings)
    revenue = app.Table("revenue", default=int, partitions=3)
    add_health(app)

    @app.agent(ctx.source("billing.invoices"))
    async def count(stream):
        async for event in stream:
            revenue[event.record["customer_id"]] += event.record["amount_cents"]

    @app.page("/revenue/{customer}")
    async def view(web, request, customer):
        return web.json({"customer": customer, "cents": revenue[customer]})

    return app


def __getattr__(name):
    if name == "app":
        globals()["app"] = build()
        return globals()["app"]
    raise AttributeError(name)
'''

AVSC = event_schema("InvoiceIssued", "billing.events", [
    {"name": "invoice_id", "type": "string"},
    {"name": "customer_id", "type": "string"},
    {"name": "customer_email", "type": "string", "pii": True},
    {"name": "amount_cents", "type": "long"},
])

PYPROJECT = '''
[project]
name = "billing-site"
version = "0.1.0"

[tool.event-pipeline]
django_settings = "billing_site.settings"
schemas = ["billing/avro"]
topics = "billing/topics.toml"

[tool.event-pipeline.workers]
invoices = "billing.handlers:InvoiceMailer"

[tool.event-pipeline.streams]
revenue = { app = "billing.streams:app", table = "revenue" }
'''

TOPICS = '''
[topics."billing.invoices"]
events = { InvoiceIssued = "customer_id" }   # a customer's invoices stay in order
partitions = 3
'''

PUBLISH = '''
from django.db import transaction
from producer_django.events.publish import publish

for n in range({count}):
    with transaction.atomic():
        publish("InvoiceIssued", {{"invoice_id": f"inv-{{n}}", "customer_id": "c-1",
                                   "customer_email": "ann@example.test", "amount_cents": 100}})
try:
    with transaction.atomic():
        publish("InvoiceIssued", {{"invoice_id": "inv-rolled-back", "customer_id": "c-1",
                                   "customer_email": "ann@example.test", "amount_cents": 999}})
        raise RuntimeError("roll back")
except RuntimeError:
    pass
'''


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())


def _make_project(root: Path) -> None:
    root.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "billing_site", str(root)], check=True
    )
    _write(root / "billing_site" / "settings.py", SETTINGS)
    _write(root / "billing_site" / "urls.py", "urlpatterns = []\n")
    _write(root / "billing" / "__init__.py", "")
    _write(root / "billing" / "models.py", MODELS)
    _write(root / "billing" / "migrations" / "__init__.py", "")
    _write(root / "billing" / "migrations" / "0001_initial.py", MIGRATION)
    _write(root / "billing" / "handlers.py", HANDLER)
    _write(root / "billing" / "streams.py", STREAM_APP)
    _write(root / "billing" / "topics.toml", TOPICS)
    _write(root / "billing" / "avro" / "InvoiceIssued.avsc", json.dumps(AVSC, indent=2))
    _write(root / "pyproject.toml", PYPROJECT)


def _install_wheel(tmp: Path) -> Path:
    """Build the package's wheel from a copy of the checkout and unpack it into `site`."""
    source = tmp / "source"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True,
        capture_output=True, text=True,
    ).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    wheels = tmp / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels),
         str(source)],
        check=True, timeout=STEP_TIMEOUT_S,
    )
    (wheel,) = wheels.glob("event_pipeline-*.whl")
    site = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
         str(wheel)],
        check=True, timeout=STEP_TIMEOUT_S,
    )
    return site


@pytest.fixture(scope="module")
def adopted(tmp_path_factory):
    """The project, its environment, and a running `pipeline up` (torn down after)."""
    tmp = tmp_path_factory.mktemp("adoption")
    root = tmp / "billing-project"
    _make_project(root)
    site = _install_wheel(tmp)
    env = {k: v for k, v in os.environ.items()
           if k not in ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL",
                        "PIPELINE_PROJECT", "DJANGO_SETTINGS_MODULE")}
    env.update(PYTHONPATH=str(site), PIPELINE_HOME=str(tmp / "home"), PYTHONUNBUFFERED="1")

    def pipeline(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "deploy.cli", *args], cwd=root, env=env,
            capture_output=True, text=True, timeout=STEP_TIMEOUT_S,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"pipeline {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    # The installed copy, not the checkout, answers.
    where = subprocess.run(
        [sys.executable, "-c", "import deploy; print(deploy.__file__)"], cwd=root, env=env,
        capture_output=True, text=True, check=True,
    ).stdout
    assert where.startswith(str(site)), where
    try:
        pipeline("up")
        yield root, env, pipeline
    finally:
        pipeline("down", check=False)


def _status(pipeline) -> dict:
    return json.loads(pipeline("status", "--json").stdout)


def _wait(predicate, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_new_project_publishes_handles_and_replays_its_own_event(adopted):
    from confluent_kafka import Consumer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    root, env, pipeline = adopted
    status = _status(pipeline)
    components = status["components"]
    assert set(components) >= {"kafka", "schema-registry", "relay", "worker-invoices",
                               "streams-revenue"}
    assert not [c for c in components if c.startswith(("worker-notifications", "streams-fanout",
                                                        "streams-inventory", "django"))]
    assert all(c["healthy"] for c in components.values()), components
    bootstrap = status["kafka"]["bootstrap_servers"]
    registry_url = status["schema_registry"]["url"]

    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PUBLISH.format(count=INVOICES)],
        cwd=root, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr

    # The events, decoded by confluent-kafka's own deserializer given only the registry URL.
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "adoption-check",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(["billing.invoices"])
    seen = {}
    deadline = time.monotonic() + 120
    try:
        while len(seen) < INVOICES and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None or msg.error():
                continue
            record = deserializer(
                msg.value(), SerializationContext(msg.topic(), MessageField.VALUE)
            )
            seen[record["invoice_id"]] = record
    finally:
        consumer.close()
    assert sorted(seen) == [f"inv-{n}" for n in range(INVOICES)]
    assert all(r["producer"] == "billing" for r in seen.values())

    # The worker's effect, once per event; nothing of the rolled-back transaction anywhere.
    import sqlite3

    def effects():
        with sqlite3.connect(root / "db.sqlite3") as db:
            return db.execute("SELECT invoice_id FROM billing_invoicemail").fetchall()

    rows = _wait(lambda: (r := effects()) and len(r) >= INVOICES and r, "the worker's effects")
    assert sorted(r[0] for r in rows) == [f"inv-{n}" for n in range(INVOICES)]

    # The faust app's table.
    url = status["streams"]["apps"]["revenue"]["url"]

    def revenue():
        try:
            response = httpx.get(f"{url}/revenue/c-1", timeout=5)
        except httpx.HTTPError:
            return None
        return response.status_code == 200 and response.json()["cents"] == 100 * INVOICES

    _wait(revenue, "the stream app's table")

    # Replay masks the pii field by default.
    out = pipeline("replay", "billing.invoices", "--no-progress").stdout
    replayed = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(replayed) == INVOICES
    for line in replayed:
        record = line.get("value", line)
        assert record["customer_email"] == "***", line
        assert record["invoice_id"].startswith("inv-")

    # No topic of the shop on this project's broker.
    from confluent_kafka.admin import AdminClient

    names = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
    assert "billing.invoices" in names
    assert not [n for n in names if n.startswith("shop.")], sorted(names)
