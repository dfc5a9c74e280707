"""`--format parquet`: a Parquet file (pyarrow), one column per top-level payload field.

Column types come from the topic's Avro schemas (long -> int64, timestamp-millis -> timestamp,
arrays -> lists, maps -> maps, records -> structs); a field name used with different types by
different events becomes a JSON text column.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from consumers.replay.errors import ReplayError
from consumers.replay.writers import ENVELOPE

_PRIMITIVE = {
    "null": pa.null(),
    "boolean": pa.bool_(),
    "int": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "bytes": pa.binary(),
    "string": pa.string(),
}
_LOGICAL = {
    "timestamp-millis": pa.timestamp("ms", tz="UTC"),
    "timestamp-micros": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}


def arrow_type(avro, named: dict) -> pa.DataType:
    if isinstance(avro, str):
        if avro in _PRIMITIVE:
            return _PRIMITIVE[avro]
        return named[avro] if avro in named else named[avro.rsplit(".", 1)[-1]]
    if isinstance(avro, list):
        branches = [b for b in avro if b != "null"]
        if len(branches) == 1:
            return arrow_type(branches[0], named)
        return pa.string()  # a real union: keep it as JSON text
    logical = avro.get("logicalType")
    if logical in _LOGICAL:
        return _LOGICAL[logical]
    kind = avro["type"]
    if kind == "record":
        struct = pa.struct(
            [pa.field(f["name"], arrow_type(f["type"], named)) for f in avro["fields"]]
        )
        named[avro["name"]] = struct
        return struct
    if kind == "array":
        return pa.list_(arrow_type(avro["items"], named))
    if kind == "map":
        return pa.map_(pa.string(), arrow_type(avro["values"], named))
    if kind == "enum":
        return pa.string()
    if kind == "fixed":
        return pa.binary(avro["size"])
    return arrow_type(kind, named)


def export_schema(schemas: list[dict], *, raw: bool) -> tuple[pa.Schema, set[str]]:
    """The Arrow schema and the set of payload columns stored as JSON text."""
    envelope = [
        pa.field("topic", pa.string()),
        pa.field("partition", pa.int32()),
        pa.field("offset", pa.int64()),
        pa.field("timestamp", pa.timestamp("ms", tz="UTC")),
        pa.field("key", pa.string()),
        pa.field("event_type", pa.string()),
    ]
    if raw:
        return pa.schema([*envelope, pa.field("value", pa.binary())]), set()
    named: dict = {}
    columns: dict[str, pa.DataType] = {}
    as_json: set[str] = set()
    for schema in schemas:
        for field in schema.get("fields", ()):
            kind = arrow_type(field["type"], named)
            seen = columns.setdefault(field["name"], kind)
            if seen != kind:
                as_json.add(field["name"])
    fields = [
        pa.field(name, pa.string() if name in as_json else kind) for name, kind in columns.items()
    ]
    return pa.schema(envelope + fields), as_json


class ParquetWriter:
    def __init__(self, out, *, raw: bool, schemas: list[dict]):
        self._raw = raw
        self._schema, self._as_json = export_schema(schemas, raw=raw)
        self._payload = [n for n in self._schema.names if n not in ENVELOPE]
        self._known = set(self._payload)
        self._writer = pq.ParquetWriter(out, self._schema, compression="zstd")

    def write(self, records) -> None:
        columns: dict[str, list] = {name: [] for name in self._schema.names}
        for r in records:
            columns["topic"].append(r.topic)
            columns["partition"].append(r.partition)
            columns["offset"].append(r.offset)
            columns["timestamp"].append(r.timestamp)
            columns["key"].append(r.key)
            columns["event_type"].append(r.event_type)
            if self._raw:
                columns["value"].append(r.raw)
                continue
            value = r.value or {}
            if not value.keys() <= self._known:
                raise ReplayError(
                    f"{r.topic}[{r.partition}]@{r.offset}: fields "
                    f"{sorted(value.keys() - self._known)} are in no schema registered for this "
                    "topic, so parquet has no column for them; use --format jsonl"
                )
            for name in self._payload:
                cell = value.get(name)
                if name in self._as_json and cell is not None:
                    cell = json.dumps(cell, default=str)
                elif isinstance(cell, dict) and pa.types.is_map(self._schema.field(name).type):
                    cell = list(cell.items())
                columns[name].append(cell)
        self._writer.write_table(pa.table(columns, schema=self._schema))

    def close(self) -> None:
        self._writer.close()
