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
    def __init__(self, out, *, raw: bool):
        self._out = out
        self._raw = raw

    def write(self, records) -> None:
        encode = orjson.dumps
        default = _json_default
        newline = orjson.OPT_APPEND_NEWLINE
        if self._raw:
            b64 = base64.b64encode
            chunk = b"".join(
                [
                    encode(
                        {
                            "topic": r.topic,
                            "partition": r.partition,
                            "offset": r.offset,
                            "timestamp": iso_ms(r.timestamp),
                            "key": r.key,
                            "event_type": r.event_type,
                            "value_base64": None if r.raw is None else b64(r.raw).decode("ascii"),
                        },
                        option=newline,
                    )
                    for r in records
                ]
            )
        else:
            chunk = b"".join(
                [
                    encode(
                        {
                            "topic": r.topic,
                            "partition": r.partition,
                            "offset": r.offset,
                            "timestamp": iso_ms(r.timestamp),
                            "key": r.key,
                            "event_type": r.event_type,
                            "value": r.value,
                        },
                        default=default,
                        option=newline,
                    )
                    for r in records
                ]
            )
        self._out.write(chunk)

    def close(self) -> None:
        self._out.flush()


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
