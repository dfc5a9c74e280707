"""Encode/decode throughput of our serde vs bare fastavro with a parsed schema, same records.

    python -m benchmarks.bench_serde [--records N]

Ours goes through confluent-kafka's AvroSerializer/AvroDeserializer (registry lookups cached
after the first message) and adds the 5-byte Confluent header; the baseline is
`fastavro.schemaless_writer` / `schemaless_reader` with a schema parsed once.
Every event type of the catalog, best of 15 interleaved runs a side, with the garbage
collector off while timing (as timeit does). Target: ratio >= 0.8 both ways.
"""

from __future__ import annotations

import argparse
import gc
import io
import sys

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from benchmarks.common import report, running_stack, side_by_side
from schemas import catalog, registry
from schemas.samples import sample_event
from schemas.serde import EventDeserializer, EventSerializer

TARGET = 0.8
ROUNDS = 15


def run(records: int) -> bool:
    # As timeit does: a collection landing in one side's timed loop and not the other's moved
    # single ratios by a fifth. Enabled again after: `python -m benchmarks` runs others next.
    gc.disable()
    try:
        return _run(records)
    finally:
        gc.enable()


def _run(records: int) -> bool:
    ok = True
    with running_stack() as settings:
        client = registry.connect(settings)
        for event_type in sorted(catalog.event_types()):
            parsed = parse_schema(catalog.event_type(event_type).schema_dict())
            events = [sample_event(event_type) for _ in range(records)]
            serializer = EventSerializer(client)
            deserializer = EventDeserializer(client)
            encoded = [serializer.serialize(event_type, e) for e in events]  # warm caches
            deserializer.decode(encoded[0])
            bodies = [e[5:] for e in encoded]

            def ours_encode(events=events, serializer=serializer, event_type=event_type):
                for e in events:
                    serializer.serialize(event_type, e)
                return len(events)

            def bare_encode(events=events, parsed=parsed):
                for e in events:
                    buf = io.BytesIO()
                    schemaless_writer(buf, parsed, e)
                    buf.getvalue()
                return len(events)

            def ours_decode(encoded=encoded, deserializer=deserializer):
                for data in encoded:
                    deserializer.decode(data)
                return len(encoded)

            def bare_decode(bodies=bodies, parsed=parsed):
                for body in bodies:
                    schemaless_reader(io.BytesIO(body), parsed, parsed)
                return len(bodies)

            ours, base = side_by_side(ours_encode, bare_encode, rounds=ROUNDS)
            ok &= report(f"encode {event_type}", ours, base, TARGET)
            ours, base = side_by_side(ours_decode, bare_decode, rounds=ROUNDS)
            ok &= report(f"decode {event_type}", ours, base, TARGET)
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Best of ROUNDS short interleaved runs: with 5 rounds of 10,000 or 30,000 records, single
    # ratios swung 0.57-1.23 between runs.
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args(argv)
    return 0 if run(args.records) else 1


if __name__ == "__main__":
    sys.exit(main())
