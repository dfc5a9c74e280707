"""The inventory table logic written for Quix Streams, for `benchmarks.bench_streams`.

Runs in its own virtualenv (quixstreams pins confluent-kafka < 2.13; the project's is newer):
`bench_streams` creates it on first use (`quix_python()`) and runs this file as a child:

    <quix venv>/bin/python benchmarks/peer_quix.py '<json config>'

It imports only the project's pure inventory logic (`streams.shop.inventory_state`: the same
split, dedupe and level derivation the faust app uses), never faust or the project's
confluent-kafka code. The flow is the faust app's, written the Quix way: decode the
Confluent-framed Avro with fastavro and the writer schema (as `schemas.serde` does), split into
per-SKU changes, re-key by SKU through a repartition topic (`group_by`), apply each change to
RocksDB state with a changelog, publish the InventoryLevel (Avro, Confluent framing). It stops
once it has applied `records` changes and prints `{"applied", "first", "last", "rate"}`.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import time
from pathlib import Path

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from quixstreams import Application, message_context

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streams.shop import inventory_state  # noqa: E402 - pure logic, after the path


class Event:
    """What `inventory_state.changes_from` reads of a decoded event (streams.codec.Event)."""

    def __init__(self, event_type: str, record: dict):
        self.type = event_type
        self.record = record

    def occurred_at_ms(self) -> int:
        return int(self.record["occurred_at"].timestamp() * 1000)


def main(config: dict) -> dict:
    readers = {int(i): parse_schema(json.loads(s)) for i, s in config["writer_schemas"].items()}
    types = {i: schema["name"].rsplit(".", 1)[-1] for i, schema in readers.items()}
    level_schema = parse_schema(json.loads(config["level_schema"]))
    level_header = b"\0" + struct.pack(">I", config["level_schema_id"])
    records = config["records"]
    progress = {"applied": 0, "first": None, "last": None}

    app = Application(
        broker_address=config["bootstrap"], consumer_group=config["group"],
        auto_offset_reset="earliest", state_dir=config["state_dir"],
        processing_guarantee="at-least-once", loglevel="WARNING",
    )
    source = app.topic(config["topic"], key_deserializer="bytes", value_deserializer="bytes")
    levels = app.topic(config["levels_topic"], key_serializer="str", value_serializer="bytes")

    def split(value: bytes) -> list[dict]:
        progress["first"] = progress["first"] or time.time()
        schema_id = struct.unpack(">I", value[1:5])[0]
        record = schemaless_reader(io.BytesIO(value[5:]), readers[schema_id], readers[schema_id])
        ctx = message_context()
        changes = inventory_state.changes_from(
            Event(types[schema_id], record), f"{ctx.topic}:{ctx.partition}", ctx.offset,
        )
        return [change.to_json() for change in changes]

    def apply(value: dict, state) -> bytes | None:
        change = inventory_state.Change(**value)
        outcome = inventory_state.apply(
            state.get("inventory"), change,
            threshold=config["threshold"], producer=config["producer"],
        )
        state.set("inventory", outcome.state)
        progress["applied"] += 1
        progress["last"] = time.time()
        if progress["applied"] >= records:
            app.stop()
        if outcome.level is None:
            return None
        buffer = io.BytesIO()
        buffer.write(level_header)
        schemaless_writer(buffer, level_schema, outcome.level)
        return buffer.getvalue()

    sdf = app.dataframe(source)
    sdf = sdf.apply(split, expand=True)
    sdf = sdf.group_by(lambda change: change["sku"], name="sku")
    sdf = sdf.apply(apply, stateful=True)
    sdf = sdf.filter(lambda value: value is not None)
    sdf.to_topic(levels)
    app.run(sdf)
    elapsed = (progress["last"] or 0) - (progress["first"] or 0)
    return {**progress, "rate": progress["applied"] / elapsed if elapsed > 0 else 0.0}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
