"""`make demo`: start a local stack, drive a bounded workload, check every effect, stop.

Grows with the project: each area adds its checks. Exits 0 only if every check holds.
"""

from __future__ import annotations

import mailbox
import sys
import tempfile
import time
import uuid
import warnings

import httpx
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from deploy.bootstrap import apply_catalog
from deploy.runtime.ports import free_port
from deploy.stack import INFRASTRUCTURE, Ports, Stack
from schemas import catalog, registry
from schemas.samples import sample_event
from schemas.serde import EventSerializer, event_headers


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
    for name, spec in catalog.event_types().items():
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


def _wait(predicate, timeout_s: float = 120):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    return predicate()


def shop_flow(stack: Stack, summary: Summary, customers: int = 5) -> None:
    """Users register, products are created, orders placed, shipped and cancelled, stock
    adjusted, all through the HTTP API; then every downstream effect is checked."""
    report = stack.status()
    api = httpx.Client(
        base_url=report["django"]["url"],
        headers={"Authorization": f"Token {report['django']['api_token']}"},
        timeout=30,
    )
    tag = uuid.uuid4().hex[:6]
    skus = [f"DEMO-{tag}-{n}" for n in range(3)]
    for n, sku in enumerate(skus):
        api.post(
            "/api/products/",
            json={
                "sku": sku,
                "name": f"Demo teapot {tag} {n}",
                "price_cents": 1500 + n,
                "stock": 12,
            },
        ).raise_for_status()
    users = []
    for n in range(customers):
        answer = api.post(
            "/api/users/",
            json={
                "email": f"customer{n}-{tag}@example.com",
                "name": f"Customer {n}",
            },
        )
        answer.raise_for_status()
        users.append(answer.json())
    orders = []
    for n, user in enumerate(users):
        answer = api.post(
            "/api/orders/",
            json={
                "user_id": user["user_id"],
                "lines": [{"sku": skus[n % 3], "quantity": 2}],
            },
        )
        answer.raise_for_status()
        orders.append(answer.json()["order_id"])
    api.post(
        f"/api/orders/{orders[0]}/ship/", json={"carrier": "DHL", "tracking_number": f"T-{tag}"}
    ).raise_for_status()
    api.post(f"/api/orders/{orders[1]}/cancel/").raise_for_status()
    api.post(
        f"/api/inventory/{skus[2]}/adjust/", json={"delta": -7, "reason": "breakage"}
    ).raise_for_status()
    too_much = api.post(
        "/api/orders/",
        json={
            "user_id": users[0]["user_id"],
            "lines": [{"sku": skus[0], "quantity": 1000}],
        },
    )
    summary.check("not enough stock answers 409", too_much.status_code == 409)
    # Every other request above raised on a non-2xx answer.
    print(f"  workload: {len(users)} users, {len(orders)} orders, 1 shipped, 1 cancelled")

    maildir = mailbox.Maildir(report["smtp"]["maildir"], create=False)
    recipients = {u["email"] for u in users}

    def customer_mails():
        return [m for m in maildir if (m.get("To") or "") in recipients]

    # welcome + confirmation per customer, plus one shipping mail
    expected_mails = 2 * len(users) + 1
    _wait(lambda: len(customer_mails()) >= expected_mails)
    time.sleep(2)
    mails = customer_mails()
    summary.check(
        "every e-mail delivered once",
        len(mails) == expected_mails,
        f"{len(mails)}/{expected_mails} in the Maildir",
    )

    hits = _wait(lambda: api.get("/api/search/", params={"q": tag}).json()["results"])
    summary.check("search index finds the products", len(hits) >= len(skus), f"{len(hits)} hits")

    expected = {sku: api.get(f"/api/products/{sku}/").json()["stock"] for sku in skus}
    streams_url = report["streams"]["url"]

    def table():
        got = {}
        for sku in skus:
            answer = httpx.get(f"{streams_url}/inventory/{sku}", timeout=10)
            got[sku] = answer.json().get("on_hand") if answer.status_code == 200 else None
        return got

    _wait(lambda: table() == expected)
    got = table()
    summary.check("inventory table equals the database", got == expected, f"{got}")
    api.close()


_REPORT_SCRIPT = """
import json
from django.db import transaction
from producer_django.shop.tasks import sales_report
with transaction.atomic():
    result = sales_report.delay(24)
print(json.dumps(result.get(timeout=90)))
"""


def tasks_flow(stack: Stack, summary: Summary) -> None:
    """The shop's periodic sales report, run once as a task: enqueued in a transaction,
    run by worker-tasks, its result read back from the database."""
    import json
    import os
    import subprocess

    from producer_django.stack import django_env, manage_argv

    done = subprocess.run(
        manage_argv("shell", "-c", _REPORT_SCRIPT), capture_output=True, text=True,
        env={**os.environ, **django_env(stack.settings, stack.home)}, timeout=180,
    )
    lines = done.stdout.strip().splitlines()
    report = json.loads(lines[-1]) if done.returncode == 0 and lines else {}
    summary.check(
        "sales report task ran", report.get("orders", 0) > 0,
        f"{report.get('orders')} orders, {report.get('revenue_cents')} cents"
        if report else (done.stderr.strip().splitlines() or ["no output"])[-1],
    )


def main() -> int:
    warnings.filterwarnings("ignore", module="authlib")
    warnings.filterwarnings("ignore", message=".*httpx module is deprecated.*")
    summary = Summary()
    with tempfile.TemporaryDirectory(prefix="pipeline-demo-") as home:
        stack = Stack(
            home=home,
            ports=Ports(kafka=free_port(), kafka_controller=free_port(), registry=free_port()),
        )
        print(
            "starting the local stack (first run downloads Kafka and the registry)...", flush=True
        )
        try:
            stack.up(only=INFRASTRUCTURE)  # raises, naming the log, if either does not come up
            print(f"  kafka at {stack.settings.bootstrap_servers}")
            apply_catalog(stack.settings, out=lambda line: print("  " + line))
            reports = registry.check_all(registry.connect(stack.settings))
            summary.check(
                "schemas compatible", all(r.ok for r in reports), f"{len(reports)} subjects"
            )
            round_trip_events(stack, summary)
            print(
                "starting Django, the relay, the stream processors and the workers...", flush=True
            )
            stack.up()
            components = stack.status()["components"]
            down = [name for name, c in components.items() if not c["healthy"]]
            summary.check("every component healthy", not down, f"{len(components)} components")
            shop_flow(stack, summary)
            tasks_flow(stack, summary)
        finally:
            print("stopping the local stack...", flush=True)
            stack.down()
    print("\nSUMMARY: " + ("all checks hold" if summary.ok else "some checks FAILED"))
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
