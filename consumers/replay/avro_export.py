"""`--format avro`: an Avro object container file readable by any Avro reader (fastavro, Java).

Each row is a `pipeline.replay.ReplayRecord`: the record's coordinates plus `value`, a union of
the topic's record schemas (or `bytes` in raw mode).
"""

from __future__ import annotations

import copy

from fastavro import parse_schema
from fastavro.write import Writer

from consumers.replay.errors import ReplayError

_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def export_schema(schemas: list[dict], *, raw: bool) -> dict:
    defined: set[str] = set()
    branches = [_dedupe(copy.deepcopy(s), defined, None) for s in schemas]
    value = ["null", "bytes"] if raw else ["null", *branches]
    return {
        "type": "record",
        "name": "ReplayRecord",
        "namespace": "pipeline.replay",
        "fields": [
            {"name": "topic", "type": "string"},
            {"name": "partition", "type": "int"},
            {"name": "offset", "type": "long"},
            {"name": "timestamp", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "key", "type": ["null", "string"]},
            {"name": "event_type", "type": ["null", "string"]},
            {"name": "value", "type": value},
        ],
    }


def _dedupe(schema, defined: set[str], namespace: str | None):
    """One container schema may define a named type once: later copies become references."""
    if isinstance(schema, list):
        return [_dedupe(s, defined, namespace) for s in schema]
    if isinstance(schema, str):
        if schema in _PRIMITIVES or "." in schema or not namespace:
            return schema
        return f"{namespace}.{schema}"
    if not isinstance(schema, dict):
        return schema
    kind = schema.get("type")
    if kind in ("record", "enum", "fixed"):
        namespace = schema.get("namespace", namespace)
        name = schema["name"]
        full = name if "." in name or not namespace else f"{namespace}.{name}"
        if full in defined:
            return full
        defined.add(full)
        # Fully qualified names, so that removing the namespace changes nothing nested.
        schema.pop("namespace", None)
        schema["name"] = full
        if kind == "record":
            for field in schema.get("fields", ()):
                field["type"] = _dedupe(field["type"], defined, namespace)
        return schema
    if kind == "array":
        schema["items"] = _dedupe(schema["items"], defined, namespace)
    elif kind == "map":
        schema["values"] = _dedupe(schema["values"], defined, namespace)
    elif isinstance(kind, dict | list):
        schema["type"] = _dedupe(kind, defined, namespace)
    return schema


def _full_name(schema: dict) -> str:
    name = schema["name"]
    return name if "." in name or not schema.get("namespace") else f"{schema['namespace']}.{name}"


class AvroWriter:
    def __init__(self, out, *, raw: bool, schemas: list[dict]):
        self._out = out
        self._raw = raw
        self._names = {_full_name(s).rsplit(".", 1)[-1]: _full_name(s) for s in schemas}
        self._writer = Writer(out, parse_schema(export_schema(schemas, raw=raw)), codec="deflate")

    def write(self, records) -> None:
        for r in records:
            if self._raw:
                value = r.raw
            elif r.value is None:
                value = None
            else:
                full = self._names.get(r.event_type)
                if full is None:
                    raise ReplayError(
                        f"{r.topic}[{r.partition}]@{r.offset}: event type {r.event_type!r} is "
                        "registered under no subject of this topic, so the avro export has no "
                        "schema for it; use --format jsonl"
                    )
                value = (full, r.value)
            self._writer.write(
                {
                    "topic": r.topic,
                    "partition": r.partition,
                    "offset": r.offset,
                    "timestamp": r.timestamp,
                    "key": r.key,
                    "event_type": r.event_type,
                    "value": value,
                }
            )
        self._writer.flush()

    def close(self) -> None:
        self._writer.flush()
        self._out.flush()
