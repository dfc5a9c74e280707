"""Session fixtures: one real broker and registry for the whole test session.

They come from the package's own pytest plugin (deploy/pytest_plugin.py, the fixtures a user's
project gets): KAFKA_BOOTSTRAP_SERVERS / SCHEMA_REGISTRY_URL (an existing cluster), then
testcontainers when a Docker engine is reachable, else the embedded runtime on free loopback
ports in a temporary PIPELINE_HOME. Here they keep the short names our tests use.
"""

from __future__ import annotations

import sys
import uuid
import warnings

import pytest

warnings.filterwarnings("ignore", module="authlib")

# pytest loads the plugin through its `pytest11` entry point; an install older than that entry
# point needs it named here (naming it twice would register it twice, which pytest refuses).
pytest_plugins = [] if "deploy.pytest_plugin" in sys.modules else ["deploy.pytest_plugin"]


@pytest.fixture(scope="session")
def stack(pipeline_stack):
    """The session's Stack. `stack.external` says which services tests may not restart."""
    return pipeline_stack


@pytest.fixture(scope="session")
def settings(pipeline_settings):
    """ConnectionSettings of the session's broker and registry, catalog applied."""
    return pipeline_settings


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
