"""Session fixtures: one real broker and registry for the whole test session.

Order of preference: KAFKA_BOOTSTRAP_SERVERS / SCHEMA_REGISTRY_URL (an existing cluster), then
testcontainers when a Docker engine is reachable, else the embedded runtime (Kafka and Apicurio
from Maven Central) on free loopback ports in a temporary PIPELINE_HOME.
"""

from __future__ import annotations

import uuid
import warnings

import pytest

warnings.filterwarnings("ignore", module="authlib")


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The session's Stack. `stack.external` says which services tests may not restart."""
    from deploy.runtime.containers import ContainerStack, docker_engine_reachable
    from deploy.runtime.ports import free_port
    from deploy.stack import INFRASTRUCTURE, Ports, Stack
    from schemas.config import external_services

    home = tmp_path_factory.mktemp("pipeline-home")
    containers = None
    if not external_services() and docker_engine_reachable():
        containers = ContainerStack()
        bootstrap, registry_url = containers.start()
        mp = pytest.MonkeyPatch()
        mp.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
        mp.setenv("SCHEMA_REGISTRY_URL", registry_url)
    ports = Ports(kafka=free_port(), kafka_controller=free_port(), registry=free_port())
    running = Stack(home=home, ports=ports)
    try:
        # Only the broker and the registry; each area's tests start the processes they exercise.
        running.up(only=INFRASTRUCTURE)
        yield running
    finally:
        running.down()
        if containers:
            containers.stop()
            mp.undo()


@pytest.fixture(scope="session")
def settings(stack):
    """ConnectionSettings of the session's broker and registry, catalog applied."""
    from deploy.bootstrap import apply_catalog

    apply_catalog(stack.settings)
    return stack.settings


@pytest.fixture(scope="session")
def registry_client(settings):
    from schemas import registry

    return registry.connect(settings)


@pytest.fixture
def unique():
    """A short unique suffix for topic, group and subject names of one test."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def make_topic(settings, unique):
    """Factory: create a fresh topic for this test and return its name."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(settings.kafka_conf())
    created = []

    def _make(prefix: str = "test", partitions: int = 3, config: dict | None = None) -> str:
        name = f"{prefix}.{unique}.{len(created)}"
        futures = admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})]
        )
        futures[name].result(timeout=30)
        created.append(name)
        return name

    yield _make
    if created:
        for future in admin.delete_topics(created).values():
            try:
                future.result(timeout=30)
            except KafkaException as exc:  # already gone, e.g. the test deleted it itself
                if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise
