"""kill -9 the leader of the partitions being written, twice, while orders flow through the API.

Three brokers, the catalog at replication factor 3 and min.insync.replicas 2. The leader of most
`shop.orders` partitions is killed, restarted, and (once the cluster is healthy again) the new
leader is killed and restarted too, while customers keep ordering through the web process.
After the dust settles every accepted order is in shop.orders exactly once by event id, each
causes exactly one confirmation mail, the stock in the database and in the inventory table
is exact, and the ISR of every partition is back to three.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
from confluent_kafka.admin import AdminClient

from consumers.testing import wait_until
from deploy.runtime.bringup import up_with_catalog
from deploy.runtime.kafka import ClusterShape
from deploy.runtime.ports import free_port
from deploy.stack import Ports, Stack
from producer_django.shop.testing import MailWatch, OrderFlow, ShopApi, flow_problems

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1200)]

TOPIC = "shop.orders"
COMPONENTS = {"django", "relay", "smtp", "streams-fanout", "streams-inventory",
              "worker-notifications"}
RATE = 8  # orders/s
STOCK = 1_000_000
DOWN_S = 10  # orders keep flowing on two brokers this long


def leader_of_most(stack: Stack, topic: str) -> str:
    """The node leading most partitions of `topic` (the one most writes go to)."""
    metadata = AdminClient(stack.settings.kafka_conf()).list_topics(topic, timeout=10)
    leaders = Counter(p.leader for p in metadata.topics[topic].partitions.values()
                      if p.leader >= 0)
    return stack.cluster.nodes[leaders.most_common(1)[0][0] - 1].name


def isr_sizes(stack: Stack, topic: str) -> set[int]:
    metadata = AdminClient(stack.settings.kafka_conf()).list_topics(topic, timeout=10)
    return {len(p.isrs) for p in metadata.topics[topic].partitions.values()}


def test_kill9_the_leader_twice_while_orders_flow(tmp_path, record_property):
    stack = Stack(home=tmp_path / "stack", ports=Ports(free_port(), free_port(), free_port()),
                  external=set(), shape=ClusterShape(brokers=3))
    flow = None
    try:
        up_with_catalog(stack, only=COMPONENTS)
        report = stack.status()
        tag = uuid.uuid4().hex[:6]
        api = ShopApi.of(report)
        skus = api.create_products(f"LK-{tag}", 6, STOCK)
        users = [api.register(f"lk{n}-{tag}@example.test", f"Customer {n}") for n in range(12)]
        api.close()
        mails = MailWatch(report["smtp"]["maildir"])
        flow = OrderFlow(lambda: ShopApi.of(report), users, skus, rate=RATE).start()
        wait_until(lambda: mails.poll() is not None and len(mails.confirmations()) >= 20, 180,
                   interval_s=1, what="the first confirmation mails")

        killed = []
        for _ in range(2):
            victim = leader_of_most(stack, TOPIC)
            before = len(flow.placed)
            stack.kill(victim)
            killed.append(victim)
            threading.Event().wait(DOWN_S)
            assert len(flow.placed) > before, f"no order accepted while {victim} was down"
            stack.start(victim)  # returns once it answers and nothing is under-replicated
            assert isr_sizes(stack, TOPIC) == {3}
            threading.Event().wait(5)
        flow.stop()

        problems = flow_problems(stack.settings, report, flow, users, skus, STOCK, mails)
        wait_until(lambda: all(n.healthy() for n in stack.cluster.nodes), 180,
                   what="every broker healthy, no under-replicated partition")
        assert isr_sizes(stack, TOPIC) == {3}
    finally:
        if flow is not None:
            flow.stop()
        stack.down()

    record_property("orders", len(flow.placed))
    print(f"\nkilled {killed}: {len(flow.placed)} orders accepted, {flow.refused} refused")
    assert not problems, problems
