"""Schema changes against the real registry under BACKWARD_TRANSITIVE."""

import dataclasses
import json

import pytest

from schemas import catalog, registry
from schemas.errors import CompatibilityError


@pytest.fixture
def product_type(registry_client, unique):
    """ProductCreated under a subject of its own, registered once."""
    spec = dataclasses.replace(catalog.event_type("ProductCreated"), topic=f"evolution.{unique}")
    registry.register_all(registry_client, [spec])
    return spec


def write_variant(tmp_path, spec, change):
    schema = spec.schema_dict()
    change(schema)
    (tmp_path / spec.schema_path.name).write_text(json.dumps(schema))
    return tmp_path


def check(registry_client, spec, schema_dir):
    [report] = registry.check_all(registry_client, [spec], schema_dir=schema_dir)
    return report


def test_registered_schema_is_unchanged_and_compatibility_is_set(registry_client, product_type):
    [report] = registry.check_all(registry_client, [product_type])
    assert report.status == "unchanged"
    assert registry_client.get_compatibility(product_type.subject) == "BACKWARD_TRANSITIVE"
    # Registering again is idempotent: same id, no new version.
    again = registry.register_all(registry_client, [product_type])
    assert registry_client.get_versions(product_type.subject) == [1]
    assert again[0][0] == product_type.subject


def test_new_field_without_default_is_rejected_naming_subject_and_field(
    registry_client, product_type, tmp_path
):
    schema_dir = write_variant(
        tmp_path, product_type, lambda s: s["fields"].append({"name": "color", "type": "string"})
    )
    report = check(registry_client, product_type, schema_dir)
    assert report.status == "incompatible"
    message = registry.describe_failures([report])
    assert product_type.subject in message and "ProductCreated.color" in message
    # The registry itself agrees.
    assert not registry_client.test_compatibility(
        product_type.subject,
        registry.Schema((schema_dir / "ProductCreated.avsc").read_text(), "AVRO"),
    )


def test_removed_field_is_rejected_naming_the_field(registry_client, product_type, tmp_path):
    def drop_stock(schema):
        schema["fields"] = [f for f in schema["fields"] if f["name"] != "stock"]

    report = check(registry_client, product_type, write_variant(tmp_path, product_type, drop_stock))
    assert report.status == "incompatible"
    assert any("ProductCreated.stock" in p for p in report.problems)


def test_optional_field_with_default_is_accepted_and_registers(
    registry_client, product_type, tmp_path, monkeypatch
):
    def add_color(schema):
        schema["fields"].append({"name": "color", "type": ["null", "string"], "default": None})

    schema_dir = write_variant(tmp_path, product_type, add_color)
    assert check(registry_client, product_type, schema_dir).status == "compatible"
    registry_client.register_schema(
        product_type.subject,
        registry.Schema((schema_dir / "ProductCreated.avsc").read_text(), "AVRO"),
    )
    assert registry_client.get_versions(product_type.subject) == [1, 2]


def test_register_refuses_a_breaking_change(registry_client, product_type, tmp_path, monkeypatch):
    broken = product_type.schema_dict()
    broken["fields"].append({"name": "color", "type": "string"})
    monkeypatch.setattr(catalog.EventType, "schema_str", lambda self: json.dumps(broken))
    with pytest.raises(CompatibilityError, match="ProductCreated.color"):
        registry.register_all(registry_client, [product_type])
