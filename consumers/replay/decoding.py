"""Decoding Confluent-framed Avro through the schema registry, and what each schema marks as PII.

Writer schemas are fetched from the registry once per schema id. Records are decoded with
fastavro's `schemaless_reader` on that writer schema, which is what confluent-kafka's
AvroDeserializer does per message, minus its per-call lookups; the integration tests check that
both give the same records (`schemas.serde.EventDeserializer` is the reference).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

from confluent_kafka.schema_registry.error import SchemaRegistryError
from fastavro import parse_schema, schemaless_reader

from schemas import catalog
from schemas.errors import DeserializationError, UnknownSchemaError
from schemas.serde import schema_id_of

_SCHEMA_NOT_FOUND = 40403
PII_ATTRIBUTE = "pii"


@dataclass(frozen=True)
class WriterSchema:
    schema_id: int
    name: str  # short record name, the event type, e.g. "InvoiceIssued"
    full_name: str
    schema: dict  # the schema as the registry returned it (custom attributes included)
    parsed: dict  # fastavro's parsed form
    pii_paths: tuple[tuple[str, ...], ...]  # field paths marked "pii": true ("*" = any item)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f["name"] for f in self.schema.get("fields", ()))


class Decoder:
    """`decode(bytes) -> (WriterSchema, dict)`; raises DeserializationError with the reason."""

    def __init__(self, registry):
        self._registry = registry
        self._schemas: dict[int, WriterSchema] = {}
        self._unknown: dict[int, UnknownSchemaError] = {}
        self._by_head: dict[bytes, WriterSchema] = {}

    def decode(self, data: bytes | None) -> tuple[WriterSchema, dict]:
        # The 5-byte frame head (magic + schema id) maps straight to its writer schema, so a
        # record costs one dict lookup before fastavro (cProfile: the framing checks showed).
        writer = self._by_head.get(data[:5]) if data is not None and len(data) > 5 else None
        if writer is None:
            schema_id = schema_id_of(data)
            writer = self._schemas.get(schema_id) or self.writer_schema(schema_id)
            self._by_head[data[:5]] = writer
        body = io.BytesIO(data)
        body.seek(5)
        try:
            return writer, schemaless_reader(body, writer.parsed, None)
        except Exception as exc:  # fastavro raises many types for corrupt bodies
            raise DeserializationError(
                f"schema id {writer.schema_id} ({writer.name}): body does not decode "
                f"({type(exc).__name__}: {exc})"
            ) from exc

    def writer_schema(self, schema_id: int) -> WriterSchema:
        cached = self._schemas.get(schema_id)
        if cached is not None:
            return cached
        if schema_id in self._unknown:
            raise self._unknown[schema_id]
        try:
            registered = self._registry.get_schema(schema_id)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404 or exc.error_code == _SCHEMA_NOT_FOUND:
                # Remember: a topic full of records with a deleted schema must not cost one
                # registry round trip per record.
                self._unknown[schema_id] = UnknownSchemaError(
                    f"schema id {schema_id} is not known to the schema registry"
                )
                raise self._unknown[schema_id] from exc
            raise DeserializationError(f"schema id {schema_id}: registry error {exc}") from exc
        writer = build_writer_schema(schema_id, json.loads(registered.schema_str))
        self._schemas[schema_id] = writer
        return writer


def build_writer_schema(schema_id: int, schema: dict) -> WriterSchema:
    full_name = schema.get("name", "")
    if "." not in full_name and schema.get("namespace"):
        full_name = f"{schema['namespace']}.{full_name}"
    name = full_name.rsplit(".", 1)[-1]
    paths = set(pii_paths(schema))
    # Records written before the catalog marked a field still get it masked.
    catalog_spec = catalog.event_types().get(name)
    if catalog_spec is not None and full_name == catalog_spec.full_name:
        paths |= set(pii_paths(catalog_spec.schema_dict()))
    return WriterSchema(
        schema_id=schema_id,
        name=name,
        full_name=full_name,
        schema=schema,
        parsed=parse_schema(schema, _force=True),
        pii_paths=tuple(sorted(paths)),
    )


def pii_paths(schema, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths of the fields marked `"pii": true`, descending into records, arrays and maps."""
    found = []
    if isinstance(schema, list):
        for branch in schema:
            found += pii_paths(branch, prefix)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "record":
            for field in schema.get("fields", ()):
                path = prefix + (field["name"],)
                if field.get(PII_ATTRIBUTE) is True:
                    found.append(path)
                else:
                    found += pii_paths(field["type"], path)
        elif kind == "array":
            found += pii_paths(schema.get("items"), prefix + ("*",))
        elif kind == "map":
            found += pii_paths(schema.get("values"), prefix + ("*",))
        elif isinstance(kind, dict | list):
            found += pii_paths(kind, prefix)
    return found
