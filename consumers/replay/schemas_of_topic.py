"""Which Avro schemas a topic's records may use: its registry subjects plus the catalog's."""

from __future__ import annotations

import json

from schemas import catalog


def topic_schemas(registry, topic: str) -> list[dict]:
    """Latest schema of every subject named after `topic` (TopicRecordNameStrategy and
    TopicNameStrategy both prefix the topic), then catalog schemas not already among them."""
    found: dict[str, dict] = {}
    prefix = f"{topic}-"
    for subject in sorted(registry.get_subjects()):
        if not subject.startswith(prefix):
            continue
        schema = json.loads(registry.get_latest_version(subject).schema.schema_str)
        if isinstance(schema, dict) and schema.get("type") == "record":
            found.setdefault(_full_name(schema), schema)
    for spec in catalog.events_on(topic):
        found.setdefault(spec.full_name, spec.schema_dict())
    return list(found.values())


def _full_name(schema: dict) -> str:
    name = schema.get("name", "")
    if "." not in name and schema.get("namespace"):
        return f"{schema['namespace']}.{name}"
    return name
