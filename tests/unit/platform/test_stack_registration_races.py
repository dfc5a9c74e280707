"""A 409 "already exists" from a concurrent `pipeline up` counts as success."""

from __future__ import annotations

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError

from schemas import registry


class RacedClient:
    """A registry client whose first write loses a race to a concurrent writer."""

    def __init__(self, level_left=registry.COMPATIBILITY, status=409):
        self.level_left = level_left
        self.status = status
        self.calls = []

    def set_compatibility(self, subject, level):
        self.calls.append(("set", level))
        if len(self.calls) == 1:
            raise SchemaRegistryError(self.status, 0, "A rule named 'COMPATIBILITY' exists.")

    def get_compatibility(self, subject):
        return self.level_left

    def register_schema(self, subject, schema):
        raise SchemaRegistryError(self.status, 0, "artifact already exists")

    def lookup_schema(self, subject, schema):
        class Registered:
            schema_id = 17

        return Registered()


def test_a_rule_created_by_a_concurrent_writer_is_success():
    client = RacedClient()
    registry.set_compatibility(client, "s-value")
    assert client.calls == [("set", registry.COMPATIBILITY)]


def test_a_rule_left_at_another_level_is_set_again():
    client = RacedClient(level_left="BACKWARD")
    registry.set_compatibility(client, "s-value")
    assert client.calls == [("set", registry.COMPATIBILITY)] * 2


def test_a_schema_registered_by_a_concurrent_writer_returns_its_id():
    assert registry.register(RacedClient(), "s-value", Schema('"string"', "AVRO")) == 17


def test_other_errors_are_not_hidden():
    with pytest.raises(SchemaRegistryError):
        registry.set_compatibility(RacedClient(status=500), "s-value")
