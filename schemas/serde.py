"""Avro serde for catalog events, on confluent-kafka's own AvroSerializer/AvroDeserializer.

Values use the Confluent wire format (magic byte 0, 4-byte schema id, Avro body); subjects follow
the TopicRecordNameStrategy (see SUBJECTS.md). The first event of each type goes through
confluent-kafka's AvroSerializer, which looks its schema id up (or registers the schema). Later
events of that type are written by fastavro with the same parsed schema behind the same 5-byte
header, which is what AvroSerializer does minus its per-call bookkeeping (subject checks, rule
hooks) that costs as much as the encoding; the integration test test_serde_wire_identity proves
the bytes identical for every catalog event.
"""

from __future__ import annotations

import io
import json
import struct
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from confluent_kafka.schema_registry import (
    SchemaRegistryClient,
    topic_record_subject_name_strategy,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.validation import ValidationError, validate

from schemas import catalog
from schemas.errors import DeserializationError, SerializationError, UnknownSchemaError

_WIRE_HEADER = struct.Struct(">bI")
_SCHEMA_NOT_FOUND = 40403


class EventSerializer:
    """Turns `(event_type, dict)` into Confluent-framed Avro bytes plus routing headers.

    With `auto_register=False` (the default for producers) the schema must already be
    registered (`pipeline schemas register`); the serializer only looks its id up once.
    """

    def __init__(self, registry: SchemaRegistryClient, *, auto_register: bool = False):
        self._registry = registry
        self._auto_register = auto_register
        self._serializers: dict[str, tuple[AvroSerializer, SerializationContext]] = {}
        # event type -> (wire header, parsed schema), once AvroSerializer has written one.
        self._fast: dict[str, tuple[bytes, Any]] = {}
        self._lock = threading.Lock()

    def validate(self, event_type: str, event: Mapping[str, Any]) -> None:
        """Raise SerializationError naming the field if `event` does not match its schema.

        Needs no registry, so callers can reject a bad event before any I/O.
        """
        spec = _spec_or_error(event_type)
        try:
            validate(_normalise(event), _parsed_schema(spec.name), raise_errors=True)
        except ValidationError as exc:
            raise SerializationError(event_type, _explain(exc), field=_field_of(exc)) from None

    def serialize(self, event_type: str, event: Mapping[str, Any]) -> bytes:
        fast = self._fast.get(event_type)
        try:
            if fast is not None:
                header, parsed = fast
                buffer = io.BytesIO()
                buffer.write(header)
                schemaless_writer(buffer, parsed, _normalise(event))
                return buffer.getvalue()
            serializer, ctx = self._serializer_for(event_type)
            value = serializer(_normalise(event), ctx)
        except SchemaRegistryError:
            raise
        except SerializationError:
            raise
        except Exception as exc:
            # Encoding does not validate; on failure, validate to name the field.
            self.validate(event_type, event)
            raise SerializationError(event_type, str(exc)) from exc
        # Parsed from the very string AvroSerializer was given.
        parsed = parse_schema(json.loads(_spec_or_error(event_type).schema_str()))
        self._fast[event_type] = (value[:5], parsed)
        return value

    def _serializer_for(self, event_type: str) -> tuple[AvroSerializer, SerializationContext]:
        cached = self._serializers.get(event_type)
        if cached is not None:
            return cached
        spec = _spec_or_error(event_type)
        with self._lock:
            cached = self._serializers.get(event_type)
            if cached is None:
                serializer = AvroSerializer(
                    self._registry,
                    spec.schema_str(),
                    conf={
                        "auto.register.schemas": self._auto_register,
                        "subject.name.strategy": topic_record_subject_name_strategy,
                    },
                )
                cached = (serializer, SerializationContext(spec.topic, MessageField.VALUE))
                self._serializers[event_type] = cached
        return cached


def encoded_body_size(event_type: str, event: Mapping[str, Any]) -> int:
    """Bytes of the Avro body of `event` (without the 5-byte wire header); needs no registry."""
    buffer = io.BytesIO()
    try:
        schemaless_writer(buffer, _parsed_schema(event_type), _normalise(event))
    except SerializationError:
        raise
    except Exception as exc:
        EventSerializer(None).validate(event_type, event)
        raise SerializationError(event_type, str(exc)) from exc
    return buffer.tell()


def event_headers(event_type: str, event: Mapping[str, Any],
                  traceparent: str | None = None) -> list[tuple[str, bytes]]:
    """Kafka headers repeating the routing metadata (ARCHITECTURE.md), plus W3C traceparent
    (given, or the event's own `traceparent` key)."""
    headers = [
        (catalog.HEADER_EVENT_TYPE, event_type.encode()),
        (catalog.HEADER_EVENT_ID, str(event["event_id"]).encode()),
        (catalog.HEADER_CORRELATION_ID, str(event["correlation_id"]).encode()),
    ]
    if traceparent is None and isinstance(event, Mapping):
        traceparent = event.get("traceparent")
    if traceparent:
        headers.append((catalog.HEADER_TRACEPARENT, str(traceparent).encode()))
    return headers


class EventDeserializer:
    """Decodes Confluent-framed Avro bytes with the writer schema fetched from the registry.

    The first record of each schema id goes through confluent-kafka's AvroDeserializer, which
    fetches and parses the writer schema. Later records of that id are read with fastavro and
    the same parsed schema, skipping the per-call bookkeeping of AvroDeserializer (subject
    lookups, rule execution), which costs more than the decoding itself for small events. A
    schema that carries references or data-contract rules always takes the full path.
    """

    def __init__(self, registry: SchemaRegistryClient):
        self._registry = registry
        self._deserializer = AvroDeserializer(registry)
        self._known: dict[int, tuple[str, Any]] = {}
        # A topic full of records whose schema was deleted must not cost a registry round
        # trip per record.
        self._unknown: dict[int, UnknownSchemaError] = {}

    def decode(self, data: bytes | None) -> tuple[str, dict]:
        """Return `(event_type, record)`; raise DeserializationError on anything undecodable."""
        schema_id = schema_id_of(data)
        known = self._known.get(schema_id)
        if known is None:
            if schema_id in self._unknown:
                raise self._unknown[schema_id]
            record = self._decode_with_confluent(schema_id, data)
            known = self._known[schema_id] = self._learn(schema_id)
            return known[0], record
        event_type, parsed = known
        if parsed is None:
            return event_type, self._decode_with_confluent(schema_id, data)
        body = io.BytesIO(data)  # shares the bytes; no copy of the body
        body.seek(5)
        try:
            return event_type, schemaless_reader(body, parsed, parsed)
        except Exception as exc:
            raise _undecodable(schema_id, exc) from exc

    def _decode_with_confluent(self, schema_id: int, data: bytes) -> dict:
        try:
            # No SerializationContext: we need neither subject lookups nor header ids here.
            return self._deserializer(data, None)
        except SchemaRegistryError as exc:
            raise self._registry_error(schema_id, exc) from exc
        except Exception as exc:
            raise _undecodable(schema_id, exc) from exc

    def _learn(self, schema_id: int) -> tuple[str, Any]:
        try:
            schema = self._registry.get_schema(schema_id)  # cached by the client
        except SchemaRegistryError as exc:
            raise self._registry_error(schema_id, exc) from exc
        name = parse_schema_name(schema.schema_str)
        if schema.references or schema.rule_set:
            return name, None
        return name, parse_schema(json.loads(schema.schema_str))


    def _registry_error(self, schema_id: int, exc: SchemaRegistryError) -> DeserializationError:
        error = _registry_error(schema_id, exc)
        if isinstance(error, UnknownSchemaError):
            self._unknown[schema_id] = error
        return error


def _undecodable(schema_id: int, exc: Exception) -> DeserializationError:
    return DeserializationError(
        f"schema id {schema_id}: body does not decode ({type(exc).__name__}: {exc})"
    )


def schema_id_of(data: bytes | None) -> int:
    """The schema id of a Confluent-framed value, or DeserializationError."""
    if data is None:
        raise DeserializationError("record has no value (tombstone)")
    if len(data) < 6:
        raise DeserializationError(f"value of {len(data)} bytes is too short for the wire format")
    magic, schema_id = _WIRE_HEADER.unpack_from(data)
    if magic != 0:
        raise DeserializationError(
            f"bad magic byte {magic}: not written by a Confluent schema-registry serializer"
        )
    return schema_id


def parse_schema_name(schema_str: str) -> str:
    parsed = json.loads(schema_str)
    return parsed.get("name", "") if isinstance(parsed, dict) else str(parsed)


def _registry_error(schema_id: int, exc: SchemaRegistryError) -> DeserializationError:
    if exc.http_status_code == 404 or exc.error_code == _SCHEMA_NOT_FOUND:
        return UnknownSchemaError(f"schema id {schema_id} is not known to the schema registry")
    return DeserializationError(f"schema id {schema_id}: registry error {exc}")


def _spec_or_error(event_type: str) -> catalog.EventType:
    try:
        return catalog.event_type(event_type)
    except catalog.UnknownEventType as exc:
        raise SerializationError(event_type, str(exc)) from None


_parsed: dict[str, Any] = {}


def _parsed_schema(event_type: str):
    parsed = _parsed.get(event_type)
    if parsed is None:
        parsed = _parsed[event_type] = parse_schema(catalog.event_type(event_type).schema_dict())
    return parsed


def _normalise(event: Mapping[str, Any]) -> Mapping[str, Any]:
    # fastavro encodes aware datetimes for timestamp-millis itself; naive ones are ambiguous.
    occurred_at = event.get("occurred_at")
    if isinstance(occurred_at, datetime) and occurred_at.tzinfo is None:
        raise SerializationError("event", "occurred_at must be timezone-aware", field="occurred_at")
    return event


def _explain(exc: ValidationError) -> str:
    problems = "; ".join(_describe(e) for e in exc.errors) or str(exc)
    return f"does not match its schema: {problems}"


def _describe(error) -> str:
    field = _short_field(error.field)
    if error.datum is None:
        return f"field {field!r} is missing or null, expected {error.schema}"
    kind = type(error.datum).__name__
    return f"field {field!r} has {error.datum!r} ({kind}), expected {error.schema}"


def _field_of(exc: ValidationError) -> str | None:
    return _short_field(exc.errors[0].field) if exc.errors else None


def _short_field(path: str | None) -> str | None:
    # fastavro names fields by full path, e.g. "billing.events.InvoiceIssued.email".
    if not path:
        return path
    # Strip the namespace, then the (possibly nested) record's name: "quantity" of
    # "billing.events.InvoiceLine.quantity".
    for full_name in catalog.current().full_names():
        namespace = full_name.rpartition(".")[0]
        if namespace and path.startswith(namespace + "."):
            return path[len(namespace) + 1 :].split(".", 1)[-1]
    return path
