"""Well-formed example events for every catalog type (demo, tests, benchmarks)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from schemas import catalog
from schemas.ids import new_event_id

# A schema folder may hold `examples.json`: {event name: payload} of hand-written examples;
# events without one get a payload synthesised from their schema.
EXAMPLES_FILE = "examples.json"


def _now_ms() -> datetime:
    # Avro timestamp-millis keeps milliseconds; a sample must survive a round trip unchanged.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def sample_event(event_type: str, **overrides) -> dict:
    """A valid event of `event_type`; metadata filled, aggregate_id from the key field."""
    spec = catalog.event_type(event_type)
    # Deep copy: callers may mutate nested lines and maps of their sample.
    payload = copy.deepcopy(
        _examples(spec.schema_path.parent).get(event_type) or _synthesise(spec.schema_dict())
    )
    payload.update({k: v for k, v in overrides.items() if k in payload})
    event = {
        "event_id": new_event_id(),
        "occurred_at": _now_ms(),
        "aggregate_id": str(payload.get(spec.key_field, "agg-1")),
        "aggregate_version": 1,
        "correlation_id": str(uuid.uuid4()),
        "causation_id": None,
        "producer": "samples",
        **payload,
    }
    event.update({k: v for k, v in overrides.items() if k not in payload})
    return event


@cache
def _examples(folder: Path) -> dict:
    path = folder / EXAMPLES_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def _synthesise(schema: dict) -> dict:
    """Payload of plausible values for an event type without a hand-written example."""
    return {
        f["name"]: _value(f["name"], f["type"])
        for f in schema["fields"]
        if f["name"] not in catalog.METADATA_FIELDS
    }


def _value(name: str, avro_type):
    if isinstance(avro_type, list):
        return _value(name, next((t for t in avro_type if t != "null"), "null"))
    if isinstance(avro_type, dict):
        kind = avro_type["type"]
        if kind == "record":
            return {f["name"]: _value(f["name"], f["type"]) for f in avro_type["fields"]}
        if kind == "array":
            return [_value(name, avro_type["items"])]
        if kind == "map":
            return {"key": _value(name, avro_type["values"])}
        if kind == "enum":
            return avro_type["symbols"][0]
        if avro_type.get("logicalType", "").startswith("timestamp"):
            return _now_ms()
        return _value(name, kind)
    return {
        "null": None,
        "boolean": True,
        "int": 1,
        "long": 1,
        "float": 1.0,
        "double": 1.0,
        "bytes": b"x",
        "string": f"{name}-1",
    }[avro_type]
