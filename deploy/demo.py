"""`make demo`: start a local stack, drive a bounded workload, check every effect, stop.

Grows with the project: each area adds its checks. Exits 0 only if every check holds.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import time
import uuid
import warnings

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from deploy.bootstrap import apply_catalog
from deploy.stack import INFRASTRUCTURE, Ports, Stack
from schemas import catalog, registry
from schemas.samples import sample_event
from schemas.serde import EventSerializer, event_headers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Summary:
    def __init__(self):
        self.checks: list[tuple[str, bool, str]] = []

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append((name, ok, detail))
        print(f"  [{'ok' if ok else 'FAIL'}] {name}{': ' + detail if detail else ''}", flush=True)

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


def round_trip_events(stack: Stack, summary: Summary) -> None:
    """One event of every catalog type: produced, read back, decoded by confluent-kafka."""
    settings = stack.settings
    serializer = EventSerializer(registry.connect(settings))
    producer = Producer(settings.kafka_conf(**{"enable.idempotence": True, "acks": "all"}))
    sent = {}
    for name, spec in catalog.EVENT_TYPES.items():
        event = sample_event(name, correlation_id="demo")
        key = str(event.get(spec.key_field, event["aggregate_id"]))
        producer.produce(
            spec.topic,
            serializer.serialize(name, event),
            key=key,
            headers=event_headers(name, event),
        )
        sent[event["event_id"]] = name
    summary.check("events produced", producer.flush(30) == 0, f"{len(sent)} types")

    deserializer = AvroDeserializer(SchemaRegistryClient({"url": settings.schema_registry_url}))
    consumer = Consumer(
        settings.kafka_conf(
            **{
                "group.id": f"demo-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
            }
        )
    )
    consumer.subscribe(catalog.topics())
    seen = {}
    deadline = time.monotonic() + 60
    try:
        while len(seen) < len(sent) and time.monotonic() < deadline:
            for msg in consumer.consume(100, timeout=1):
                if msg.error():
                    continue
                value = deserializer(
                    msg.value(), SerializationContext(msg.topic(), MessageField.VALUE)
                )
                if value["event_id"] in sent:
                    seen[value["event_id"]] = dict(msg.headers())["event_type"].decode()
    finally:
        consumer.close()
    summary.check(
        "events read back and decoded by confluent-kafka's AvroDeserializer",
        seen == sent,
        f"{len(seen)}/{len(sent)}",
    )


def main() -> int:
    warnings.filterwarnings("ignore", module="authlib")
    warnings.filterwarnings("ignore", message=".*httpx module is deprecated.*")
    summary = Summary()
    with tempfile.TemporaryDirectory(prefix="pipeline-demo-") as home:
        stack = Stack(
            home=home,
            ports=Ports(kafka=_free_port(), kafka_controller=_free_port(), registry=_free_port()),
        )
        print(
            "starting the local stack (first run downloads Kafka and the registry)...", flush=True
        )
        try:
            stack.up(only=INFRASTRUCTURE)
            summary.check(
                "kafka and schema registry healthy", True, stack.settings.bootstrap_servers
            )
            apply_catalog(stack.settings, out=lambda line: print("  " + line))
            reports = registry.check_all(registry.connect(stack.settings))
            summary.check(
                "schemas compatible", all(r.ok for r in reports), f"{len(reports)} subjects"
            )
            round_trip_events(stack, summary)
        finally:
            print("stopping the local stack...", flush=True)
            stack.down()
    print("\nSUMMARY: " + ("all checks hold" if summary.ok else "some checks FAILED"))
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
