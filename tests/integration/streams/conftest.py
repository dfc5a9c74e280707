"""Fixtures for the stream apps: real faust worker processes on the session's broker.

Each worker gets its own faust app id (consumer group, internal and changelog topics), web port,
state directory and output topics, so tests never see each other's tables or derived events.
Source events go to the real catalog topics; tests tell theirs apart by a unique id prefix.
"""

from __future__ import annotations

import pytest

from schemas.serde import EventSerializer
from streams.shop.testing import inventory_app as start_inventory


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
