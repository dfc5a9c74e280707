"""kill -9 one of three brokers while the relay publishes and a worker consumes.

The catalog runs with replication factor 3 and min.insync.replicas 2: every event committed to
the outbox reaches Kafka and becomes exactly one mail (0 lost, 0 duplicated effects), the
killed broker restarts, and the cluster is healthy again (no under-replicated partition).
"""

from __future__ import annotations

import sys
import threading
import uuid

import pytest

from consumers.testing import message_ids, wait_until
from deploy import topics
from deploy.runtime import process
from deploy.runtime.kafka import ClusterShape
from deploy.runtime.ports import free_port
from deploy.runtime.process import ProcessSpec
from deploy.stack import INFRASTRUCTURE, Ports, Stack
from producer_django.shop.testing import ShopProcesses
from schemas import registry

pytestmark = pytest.mark.cluster

EVENTS = 600
BATCH = 20
TOPIC = "shop.notifications"


def _leader_of(stack: Stack, topic: str) -> str:
    from confluent_kafka.admin import AdminClient

    metadata = AdminClient(stack.settings.kafka_conf()).list_topics(timeout=10)
    leader = metadata.topics[topic].partitions[0].leader
    return stack.cluster.nodes[leader - 1].name


def test_kill9_a_broker_loses_and_duplicates_nothing(tmp_path, record_property):
    stack = Stack(home=tmp_path / "stack", ports=Ports(free_port(), free_port(), free_port()),
                  external=set(), shape=ClusterShape(brokers=3))
    shop = None
    smtp = worker = None
    try:
        stack.up(only=INFRASTRUCTURE)
        settings = stack.settings
        topics.apply(settings, topics.project_catalog(), replication_factor=3)
        registry.register_all(registry.connect(settings))

        shop = ShopProcesses(settings, tmp_path / "shop")
        shop.setup()
        maildir = tmp_path / "Maildir"
        smtp_port = free_port()
        smtp = process.spawn(ProcessSpec(
            argv=[sys.executable, "-m", "consumers.smtp_server", "--port", str(smtp_port),
                  "--maildir", str(maildir)],
            log=tmp_path / "smtp.log"))
        group = f"cluster-kill-{uuid.uuid4().hex[:6]}"
        worker = process.spawn(ProcessSpec(
            argv=[sys.executable, "-m", "deploy.cli", "worker", "notifications", "--group", group,
                  "--topics", TOPIC, "--smtp-port", str(smtp_port),
                  "--instance-id", f"{group}-1"],
            log=tmp_path / "worker.log",
            env={"PIPELINE_HOME": str(tmp_path / "worker-home"),
                 "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
                 "SCHEMA_REGISTRY_URL": settings.schema_registry_url}))
        shop.start_relay()
        prefix = "ck" + uuid.uuid4().hex[:6]
        publisher = shop.publish_notifications(prefix, EVENTS, BATCH)

        # Kill the leader of a partition being written once mails are flowing.
        wait_until(lambda: maildir.exists() and sum(message_ids(maildir).values()) >= 50, 120,
                   what="the first mails")
        victim = _leader_of(stack, TOPIC)
        stack.kill(victim)
        threading.Event().wait(8)
        assert publisher.wait(300) == 0, "the publishing script failed"
        stack.start(victim)

        wait_until(lambda: shop.pending() == 0, 240, what="an empty outbox")
        wait_until(lambda: sum(message_ids(maildir).values()) >= EVENTS, 240,
                   what=f"{EVENTS} mails")
        threading.Event().wait(5)  # any redelivery would show up by now
        wait_until(lambda: all(n.healthy() for n in stack.cluster.nodes), 180,
                   what="every broker healthy, no under-replicated partition")
        counts = message_ids(maildir)
    finally:
        process.kill9(worker)
        process.stop(smtp)
        if shop is not None:
            shop.close()
        stack.down()

    total = sum(counts.values())
    record_property("mails", total)
    print(f"\nkilled {victim}: {EVENTS} events, {len(counts)} distinct mails, {total} in all")
    assert len(counts) == EVENTS, "lost mails"
    assert total == EVENTS, "duplicated mails"

