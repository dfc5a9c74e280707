"""pytest fixtures for a project that adopts the event pipeline.

Installed with the package as the `pytest11` entry point `event_pipeline`, so pytest loads it
in any project whose virtualenv has `event-pipeline` (turn it off with `-p no:event_pipeline`;
with PYTEST_DISABLE_PLUGIN_AUTOLOAD set, turn it on with `-p event_pipeline`). Importing it
starts nothing and imports nothing heavy: each fixture imports what it needs when it runs.

pipeline_stack (session)
    A real Kafka broker and schema registry for the whole session, as a `deploy.stack.Stack`
    (`.settings`, `.home`, `.external`). Where they come from, in order:
    KAFKA_BOOTSTRAP_SERVERS / SCHEMA_REGISTRY_URL when set (an existing cluster, left alone);
    else Docker containers via testcontainers when a Docker engine is reachable (needs
    `event-pipeline[stack]`); else the embedded runtime (Kafka and Apicurio from Maven Central,
    run with the machine's Java 17) on free loopback ports in a temporary PIPELINE_HOME.
    Stopped at the end of the session.

pipeline_settings (session)
    `ConnectionSettings` of that stack with the project's catalog applied: its topics created
    and its event schemas registered (`deploy.bootstrap.apply_catalog`).

published_events (function)
    Like Django's `mail.outbox`: the events `publish()` wrote to the outbox during the test,
    oldest first, each with `.event_type`, `.topic`, `.key`, `.payload` (the full record) and
    `.event_id`. Read from the outbox table, so it needs database access: with pytest-django
    the fixture requests `db` itself; in a Django `TestCase`, take it in an autouse fixture.
    `published_events.of_type("InvoiceIssued")` filters by event type.

handler_runner (function)
    `consumers.testing.run_handler(handler, events, *, database_url=None)`: runs a handler
    against the given events without a broker.

Example (with pytest-django):

    def test_issuing_an_invoice_publishes_it(published_events):
        issue_invoice(amount_cents=1200)
        (event,) = published_events
        assert event.event_type == "InvoiceIssued"
        assert event.payload["amount_cents"] == 1200
"""

from __future__ import annotations

import unittest
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest


@pytest.fixture(scope="session")
def pipeline_stack(tmp_path_factory):
    from deploy.runtime.ports import free_port
    from deploy.stack import INFRASTRUCTURE, Ports, Stack
    from schemas.config import external_services

    containers = None
    env = pytest.MonkeyPatch()
    if not external_services():
        containers = _start_containers(env)
    stack = Stack(
        home=tmp_path_factory.mktemp("pipeline-home"),
        ports=Ports(kafka=free_port(), kafka_controller=free_port(), registry=free_port()),
    )
    try:
        # Only the broker and the registry: tests start the processes they exercise.
        stack.up(only=INFRASTRUCTURE)
        yield stack
    finally:
        stack.down()
        if containers is not None:
            containers.stop()
        env.undo()


def _start_containers(env: pytest.MonkeyPatch):
    """Containers when a Docker engine is reachable, pointed at through the env overrides."""
    from deploy.runtime.containers import ContainerStack, docker_engine_reachable
    from schemas.extras import require

    if not docker_engine_reachable():
        return None
    require("testcontainers", "stack", "the pipeline_stack fixture on Docker")
    containers = ContainerStack()
    bootstrap, registry_url = containers.start()
    env.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    env.setenv("SCHEMA_REGISTRY_URL", registry_url)
    return containers


@pytest.fixture(scope="session")
def pipeline_settings(pipeline_stack):
    from deploy.bootstrap import apply_catalog

    apply_catalog(pipeline_stack.settings)
    return pipeline_stack.settings


@dataclass(frozen=True)
class PublishedEvent:
    event_type: str
    topic: str
    key: str
    payload: dict[str, Any]
    event_id: str


class PublishedEvents(Sequence):
    """The outbox rows written after `after_id`, read afresh on each access."""

    def __init__(self, database: str, after_id: int):
        self.database = database
        self.after_id = after_id

    def _events(self) -> list[PublishedEvent]:
        from producer_django.events.models import OutboxEvent

        rows = OutboxEvent.objects.using(self.database).filter(id__gt=self.after_id)
        return [
            PublishedEvent(row.event_type, row.topic, row.key, row.payload, str(row.event_id))
            for row in rows.order_by("id")
        ]

    def __getitem__(self, index):
        return self._events()[index]

    def __len__(self) -> int:
        return len(self._events())

    def of_type(self, event_type: str) -> list[PublishedEvent]:
        return [e for e in self._events() if e.event_type == event_type]

    def __repr__(self) -> str:
        return f"PublishedEvents({self._events()!r})"


@pytest.fixture
def published_events(request) -> PublishedEvents:
    _setup_django()
    if request.config.pluginmanager.hasplugin("django") and not isinstance(
        request.instance, unittest.TestCase
    ):
        request.getfixturevalue("db")  # pytest-django blocks the database without it
    from django.db.models import Max

    from producer_django.events.conf import pipeline_settings
    from producer_django.events.models import OutboxEvent

    database = pipeline_settings()["DATABASE"]
    last = OutboxEvent.objects.using(database).aggregate(last=Max("id"))["last"] or 0
    return PublishedEvents(database, last)


def _setup_django() -> None:
    """Django set up with the events app, or a failure that says what to configure."""
    import os

    import django
    from django.apps import apps
    from django.conf import settings

    if not apps.ready:
        if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
            pytest.fail(
                "published_events needs Django: set DJANGO_SETTINGS_MODULE (or pytest-django's "
                "--ds) to your settings module",
                pytrace=False,
            )
        django.setup()
    if not apps.is_installed("producer_django.events"):
        pytest.fail(
            "published_events reads the outbox: add \"producer_django.events\" to "
            "INSTALLED_APPS (and run its migrations)",
            pytrace=False,
        )


@pytest.fixture
def handler_runner():
    from consumers.testing import run_handler

    return run_handler
