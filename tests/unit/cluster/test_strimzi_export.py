"""`pipeline topics export --format strimzi`: the YAML holds KafkaTopic and KafkaUser resources
in the shapes Strimzi's CRDs define (packaging/install/cluster-operator/043-Crd-kafkatopic.yaml
and 044-Crd-kafkauser.yaml of strimzi/strimzi-kafka-operator; the same fields in v1 and
v1beta2). The schemas below restate those fields; a small checker applies them."""

from __future__ import annotations

import re

import pytest
import yaml

from deploy.cli import main

_STRING = {"type": "string"}
_API = {"type": "string", "enum": ["kafka.strimzi.io/v1", "kafka.strimzi.io/v1beta2"]}
_NAME = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
_LABELS = {"type": "object", "required": ["strimzi.io/cluster"],
           "properties": {"strimzi.io/cluster": _STRING}, "extra": _STRING}
_METADATA = {"type": "object", "required": ["name", "labels"],
             "properties": {"name": {"type": "string", "pattern": _NAME, "maxLength": 253},
                            "labels": _LABELS}}
KAFKA_TOPIC = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": _API,
        "kind": {"type": "string", "enum": ["KafkaTopic"]},
        "metadata": _METADATA,
        "spec": {"type": "object", "closed": True, "properties": {
            "topicName": _STRING,
            "partitions": {"type": "integer", "minimum": 1},
            "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
            "config": {"type": "object", "extra": {"type": ("string", "integer", "boolean")}},
        }},
    },
}
_ACL = {
    "type": "object", "required": ["resource", "operations"], "closed": True,
    "properties": {
        "type": {"type": "string", "enum": ["allow", "deny"]},
        "resource": {"type": "object", "required": ["type"], "closed": True, "properties": {
            "type": {"type": "string", "enum": ["topic", "group", "cluster", "transactionalId"]},
            "name": _STRING,
            "patternType": {"type": "string", "enum": ["literal", "prefix"]},
        }},
        "host": _STRING,
        "operations": {"type": "array", "items": {"type": "string", "enum": [
            "Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction",
            "AlterConfigs", "DescribeConfigs", "IdempotentWrite", "All"]}},
    },
}
KAFKA_USER = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": _API,
        "kind": {"type": "string", "enum": ["KafkaUser"]},
        "metadata": _METADATA,
        "spec": {"type": "object", "closed": True, "properties": {
            "authentication": {"type": "object", "required": ["type"], "properties": {
                "type": {"type": "string", "enum": ["tls", "tls-external", "scram-sha-512"]}}},
            "authorization": {"type": "object", "required": ["acls", "type"], "closed": True,
                              "properties": {
                                  "type": {"type": "string", "enum": ["simple"]},
                                  "acls": {"type": "array", "items": _ACL}}},
        }},
    },
}
_TYPES = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list}


def problems(value, schema: dict, where: str = "$") -> list[str]:
    """Where `value` breaks `schema` (type, enum, required, closed properties, items, bounds)."""
    types = schema.get("type", ())
    types = (types,) if isinstance(types, str) else types
    if types and not any(isinstance(value, _TYPES[t]) and not (t == "integer" and
                         isinstance(value, bool)) for t in types):
        return [f"{where}: {value!r} is not {'/'.join(types)}"]
    found = []
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not in {schema['enum']}")
    if "minimum" in schema and value < schema["minimum"]:
        found.append(f"{where}: {value} < {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        found.append(f"{where}: {value} > {schema['maximum']}")
    if "pattern" in schema and not re.match(schema["pattern"], value):
        found.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        found.append(f"{where}: longer than {schema['maxLength']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        found += [f"{where}: missing {k}" for k in schema.get("required", ()) if k not in value]
        for key, item in value.items():
            if key in props:
                found += problems(item, props[key], f"{where}.{key}")
            elif "extra" in schema:
                found += problems(item, schema["extra"], f"{where}.{key}")
            elif schema.get("closed"):
                found.append(f"{where}: unknown field {key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += problems(item, schema["items"], f"{where}[{i}]")
    return found


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("strimzi") / "resources.yaml"
    assert main(["topics", "export", "--format", "strimzi", "--out", str(out),
                 "--cluster", "prod"]) == 0
    return list(yaml.safe_load_all(out.read_text()))


def test_every_resource_has_the_shape_strimzi_documents(exported):
    schemas = {"KafkaTopic": KAFKA_TOPIC, "KafkaUser": KAFKA_USER}
    for doc in exported:
        assert problems(doc, schemas[doc["kind"]]) == [], doc["metadata"]["name"]


def test_the_catalog_becomes_topics_with_production_replication(exported):
    from deploy import topics

    catalog = {s.name: s for s in topics.project_catalog()}
    found = {d["spec"]["topicName"]: d for d in exported if d["kind"] == "KafkaTopic"}
    assert set(found) == set(catalog)
    for name, doc in found.items():
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == "prod"
        assert doc["spec"]["partitions"] == catalog[name].partitions
        assert doc["spec"]["replicas"] == 3
        assert doc["spec"]["config"]["min.insync.replicas"] == 2
        assert doc["spec"]["config"]["cleanup.policy"] == catalog[name].cleanup_policy


def test_the_role_table_becomes_scram_users_with_its_acls(exported):
    users = {d["metadata"]["name"]: d["spec"] for d in exported if d["kind"] == "KafkaUser"}
    assert {"relay", "worker", "streams", "analyst", "admin"} <= set(users)
    assert all(u["authentication"]["type"] == "scram-sha-512" for u in users.values())
    analyst_ops = {op for acl in users["analyst"]["authorization"]["acls"]
                   for op in acl["operations"]}
    assert analyst_ops == {"Read", "Describe"}


def test_a_resource_that_breaks_the_shape_is_caught():
    bad = {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaTopic",
           "metadata": {"name": "Shop_Orders", "labels": {}},
           "spec": {"partitions": 0, "replica": 3}}
    found = problems(bad, KAFKA_TOPIC)
    assert any("does not match" in p for p in found)
    assert any("strimzi.io/cluster" in p for p in found)
    assert any("< 1" in p for p in found)
    assert any("unknown field replica" in p for p in found)
