"""Export formats: jsonl (default), csv, avro, parquet.

Every row carries the record's coordinates (`topic`, `partition`, `offset`, `timestamp`, `key`,
`event_type`) next to its payload. jsonl nests the payload under `value`; csv and parquet
flatten its top-level fields into columns (nested values as JSON text in csv, as native lists
and structs in parquet); avro wraps it in a union of the topic's record schemas. In raw mode
the payload is the undecoded value: base64 text (`value_base64`) in jsonl and csv, bytes in
avro and parquet.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
from datetime import UTC, date, datetime

import orjson

FORMATS = ("jsonl", "csv", "avro", "parquet")
ENVELOPE = ("topic", "partition", "offset", "timestamp", "key", "event_type")


def iso_ms(ms: int, _cache: dict = {}) -> str:  # noqa: B006 (a deliberate memo)
    """ISO 8601 UTC with milliseconds; the date-time part is memoised per second."""
    seconds, millis = divmod(ms, 1000)
    prefix = _cache.get(seconds)
    if prefix is None:
        if len(_cache) > 100_000:
            _cache.clear()
        prefix = _cache[seconds] = datetime.fromtimestamp(seconds, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
    return f"{prefix}.{millis:03d}+00:00"


def _json_default(value):
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value) -> bytes:
    """Compact JSON (datetimes as ISO 8601, bytes as base64)."""
    return orjson.dumps(value, default=_json_default)


def open_writer(fmt: str, out, *, raw: bool, schemas: list[dict]):
    """A writer for `fmt` on the binary stream `out`; `schemas` are the topic's record schemas."""
    if fmt == "jsonl":
        return JsonlWriter(out, raw=raw)
    if fmt == "csv":
        return CsvWriter(out, raw=raw, schemas=schemas)
    if fmt == "avro":
        from consumers.replay.avro_export import AvroWriter

        return AvroWriter(out, raw=raw, schemas=schemas)
    if fmt == "parquet":
        from consumers.replay.parquet_export import ParquetWriter

        return ParquetWriter(out, raw=raw, schemas=schemas)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


class JsonlWriter:
    """One JSON object per line. Lines are formatted as text around orjson-encoded pieces
    (the same bytes as `orjson.dumps` of the row dict): building a dict per record and encoding
    it cost half of a raw replay's time (cProfile)."""

    def __init__(self, out, *, raw: bool):
        self._out = out
        self._raw = raw
        self._heads: dict[str, str] = {}
        self._texts: dict = {}

    def write(self, records) -> None:
        iso = iso_ms
        text = self._json_text
        heads = self._heads
        if self._raw:
            b64 = binascii.b2a_base64
            lines = [
                f'{heads.get(r.topic) or self._head(r.topic)}{r.partition},"offset":{r.offset},'
                f'"timestamp":"{iso(r.timestamp)}","key":{text(r.key)},'
                f'"event_type":{text(r.event_type)},"value_base64":'
                f'{"null" if r.raw is None else _quoted(b64(r.raw, newline=False))}}}\n'
                for r in records
            ]
        else:
            encode = orjson.dumps
            default = _json_default
            lines = [
                f'{heads.get(r.topic) or self._head(r.topic)}{r.partition},"offset":{r.offset},'
                f'"timestamp":"{iso(r.timestamp)}","key":{text(r.key)},'
                f'"event_type":{text(r.event_type)},'
                f'"value":{encode(r.value, default=default).decode()}}}\n'
                for r in records
            ]
        self._out.write("".join(lines).encode())

    def _head(self, topic: str) -> str:
        head = self._heads[topic] = f'{{"topic":{orjson.dumps(topic).decode()},"partition":'
        return head

    def _json_text(self, value: str | None) -> str:
        """A key or event type as JSON text; memoised, as keys repeat (aggregate ids)."""
        texts = self._texts
        found = texts.get(value)
        if found is None:
            if len(texts) > 100_000:
                texts.clear()
            found = texts[value] = orjson.dumps(value).decode()
        return found

    def close(self) -> None:
        self._out.flush()


def _quoted(b64_line: bytes) -> str:
    return f'"{b64_line.decode("ascii")}"'


def payload_columns(schemas: list[dict]) -> list[str]:
    """Top-level payload fields of every schema, in first-seen order."""
    columns: dict[str, None] = {}
    for schema in schemas:
        for field in schema.get("fields", ()):
            columns.setdefault(field["name"], None)
    return list(columns)


class CsvWriter:
    def __init__(self, out, *, raw: bool, schemas: list[dict]):
        self._out = out
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\n")
        self._raw = raw
        self._payload = ["value_base64"] if raw else payload_columns(schemas)
        self._known = set(self._payload)
        self._csv.writerow([*ENVELOPE, *self._payload])

    def write(self, records) -> None:
        for r in records:
            row = [
                r.topic,
                r.partition,
                r.offset,
                iso_ms(r.timestamp),
                r.key or "",
                r.event_type or "",
            ]
            if self._raw:
                row.append("" if r.raw is None else base64.b64encode(r.raw).decode("ascii"))
            else:
                value = r.value or {}
                extra = set(value) - self._known
                if extra:
                    from consumers.replay.errors import ReplayError

                    raise ReplayError(
                        f"{r.topic}[{r.partition}]@{r.offset}: fields {sorted(extra)} are in no "
                        "schema registered for this topic, so csv has no column for them; "
                        "use --format jsonl"
                    )
                row.extend(_csv_cell(value.get(name)) for name in self._payload)
            self._csv.writerow(row)
        self._out.write(self._text.getvalue().encode())
        self._text.seek(0)
        self._text.truncate()

    def close(self) -> None:
        self._out.flush()


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return dumps(value).decode()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value
