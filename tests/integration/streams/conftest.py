"""Fixtures for the stream apps: real faust worker processes on the session's broker.

Each worker gets its own faust app id (consumer group, internal and changelog topics), web port,
state directory and output topics, so tests never see each other's tables or derived events.
Source events go to the real catalog topics; tests tell theirs apart by a unique id prefix.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.serde import EventSerializer
from streams.testing import WorkerProcess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_topics(settings, names, *, partitions=3, compacted=False) -> None:
    admin = AdminClient(settings.kafka_conf())
    config = {"cleanup.policy": "compact"} if compacted else {}
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=partitions, replication_factor=1, config=config)
         for n in names]
    )
    for future in futures.values():
        future.result(timeout=30)


@dataclass
class InventoryApp:
    worker: WorkerProcess
    levels: str
    alerts: str
    summary: str


def start_inventory(settings, workdir, *, app_id=None, **env) -> InventoryApp:
    """An inventory worker with its own app id and output topics (compacted levels)."""
    tag = uuid.uuid4().hex[:8]
    app_id = app_id or f"test-inventory-{tag}"
    levels, alerts, summary = (f"test.{tag}.levels", f"test.{tag}.alerts", f"test.{tag}.summary")
    create_topics(settings, [levels], compacted=True)
    create_topics(settings, [alerts, summary])
    worker = WorkerProcess(
        "inventory", settings, app_id=app_id, workdir=workdir, web_port=free_port(),
        env={"STREAMS_LEVELS_TOPIC": levels, "STREAMS_ALERTS_TOPIC": alerts,
             "STREAMS_SUMMARY_TOPIC": summary, **env},
    )
    return InventoryApp(worker.start(), levels, alerts, summary)


@pytest.fixture(scope="session")
def serializer(registry_client):
    return EventSerializer(registry_client)


@pytest.fixture(scope="module")
def inventory_app(settings, tmp_path_factory):
    app = start_inventory(
        settings, tmp_path_factory.mktemp("inventory"), STREAMS_SUMMARY_INTERVAL_S="3"
    )
    yield app
    app.worker.stop()


@pytest.fixture
def prefix(unique):
    return f"t{unique}-"
