"""PII marks, masking and the export formats, on records built in memory (no broker)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pyarrow.parquet as pq
from fastavro import parse_schema
from fastavro import reader as avro_reader

from consumers.replay.avro_export import export_schema
from consumers.replay.decoding import build_writer_schema, pii_paths
from consumers.replay.masking import MASK, mask
from consumers.replay.rebuild import Difference, diff_by_key
from consumers.replay.session import Record
from consumers.replay.writers import iso_ms, open_writer
from schemas import catalog


def schema(name: str) -> dict:
    return catalog.event_type(name).schema_dict()


def test_catalog_marks_personal_fields():
    assert sorted(pii_paths(schema("UserRegistered"))) == [("email",), ("name",)]
    assert sorted(pii_paths(schema("NotificationRequested"))) == [("params",), ("recipient",)]
    assert pii_paths(schema("OrderPlaced")) == []


def test_old_writer_schemas_get_the_catalog_marks():
    unmarked = json.loads(json.dumps(schema("UserRegistered")).replace('"pii": true', '"x": 1'))
    assert pii_paths(unmarked) == []
    assert build_writer_schema(1, unmarked).pii_paths == (("email",), ("name",))


def test_mask_keeps_shape():
    record = {"recipient": "a@b.c", "params": {"name": "Ada", "order_id": "o-1"}, "user_id": "u"}
    mask(record, [("recipient",), ("params",)])
    assert record == {"recipient": MASK, "params": {"name": MASK, "order_id": MASK}, "user_id": "u"}
    nested = {"lines": [{"sku": "A", "who": "x"}, {"sku": "B", "who": "y"}]}
    mask(nested, [("lines", "*", "who")])
    assert nested == {"lines": [{"sku": "A", "who": MASK}, {"sku": "B", "who": MASK}]}


def test_iso_ms():
    assert iso_ms(1_795_329_519_108) == "2026-11-22T06:38:39.108+00:00"
    assert iso_ms(5) == "1970-01-01T00:00:00.005+00:00"


def _records():
    at = datetime(2026, 11, 22, 10, tzinfo=UTC)
    base = {"event_id": "e", "occurred_at": at, "aggregate_id": "o-1", "aggregate_version": 1,
            "correlation_id": "c", "causation_id": None, "producer": "p"}
    placed = {**base, "order_id": "o-1", "user_id": "u-1", "total_cents": 500,
              "lines": [{"sku": "A", "quantity": 2, "unit_price_cents": 250}]}
    cancelled = {**base, "order_id": "o-1", "user_id": "u-1", "reason": "r",
                 "lines": [{"sku": "A", "quantity": 2, "unit_price_cents": 250}]}
    return [
        Record("shop.orders", 0, 10, 1_795_329_519_108, "o-1", "OrderPlaced", placed, None),
        Record("shop.orders", 0, 11, 1_795_329_519_200, "o-1", "OrderCancelled", cancelled, None),
    ]


SCHEMAS = [schema("OrderPlaced"), schema("OrderCancelled")]


def _export(fmt: str) -> bytes:
    out = io.BytesIO()
    writer = open_writer(fmt, out, raw=False, schemas=SCHEMAS)
    writer.write(_records())
    writer.close()
    return out.getvalue()


def test_avro_export_defines_shared_named_types_once():
    parse_schema(export_schema(SCHEMAS, raw=False))  # OrderLine appears in both
    rows = list(avro_reader(io.BytesIO(_export("avro"))))
    assert [r["event_type"] for r in rows] == ["OrderPlaced", "OrderCancelled"]
    assert rows[1]["value"]["reason"] == "r" and rows[0]["value"]["lines"][0]["quantity"] == 2


def test_csv_and_jsonl_exports():
    rows = list(csv.DictReader(io.StringIO(_export("csv").decode())))
    assert rows[0]["total_cents"] == "500" and rows[1]["total_cents"] == ""
    assert rows[1]["reason"] == "r" and json.loads(rows[0]["lines"])[0]["sku"] == "A"
    lines = [json.loads(line) for line in _export("jsonl").decode().splitlines()]
    assert lines[0]["timestamp"] == "2026-11-22T06:38:39.108+00:00"
    assert lines[0]["value"]["occurred_at"] == "2026-11-22T10:00:00+00:00"


def test_parquet_export(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(_export("parquet"))
    table = pq.read_table(path)
    assert table.column("total_cents").to_pylist() == [500, None]
    assert table.column("lines").to_pylist()[0][0]["sku"] == "A"


def test_inventory_diff():
    assert diff_by_key({"a": 1, "b": 2}, {"a": 1, "b": 2}) == []
    assert diff_by_key({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 0}) == [
        Difference("b", 2, 3), Difference("c", None, 0)
    ]


def test_jsonl_lines_are_the_json_of_the_row():
    """The writer formats lines around encoded pieces; they must equal orjson of the row dict."""
    import base64

    import orjson

    from consumers.replay.writers import dumps

    records = [
        Record('t."q"', 0, 1, 1_764_000_000_123, 'k"\\é\n', "Ev", {"a": [1, None], "é": "x"}, None),
        Record("t", 2, 3, 0, None, None, None, None),
    ]
    raw_records = [
        Record('t."q"', 0, 1, 1_764_000_000_123, "k\u2028", "Ev", None, b"\0\1\2\xff"),
        Record("t", 1, 2, 5, None, None, None, None),
    ]
    for raw, rows in ((False, records), (True, raw_records)):
        out = io.BytesIO()
        writer = open_writer("jsonl", out, raw=raw, schemas=[])
        writer.write(rows)
        writer.close()
        expected = []
        for r in rows:
            row = {"topic": r.topic, "partition": r.partition, "offset": r.offset,
                   "timestamp": iso_ms(r.timestamp), "key": r.key, "event_type": r.event_type}
            if raw:
                row["value_base64"] = None if r.raw is None else base64.b64encode(r.raw).decode()
            else:
                row["value"] = r.value
            expected.append(dumps(row) + b"\n")
            assert orjson.loads(expected[-1]) == row
        assert out.getvalue() == b"".join(expected)
