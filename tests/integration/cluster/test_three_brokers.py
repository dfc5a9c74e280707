"""`pipeline up --brokers 3`: three KRaft nodes with one cluster id, the catalog applied with
replication factor 3 and min.insync.replicas 2, health per node and for the partitions."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from deploy import topics
from deploy.runtime.kafka import ClusterShape

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def three(tmp_path_factory, make_shaped_stack):
    stack = make_shaped_stack(tmp_path_factory.mktemp("three-home"), ClusterShape(brokers=3))
    try:
        yield stack
    finally:
        stack.down()


def test_three_nodes_one_cluster_and_a_healthy_status(three):
    report = three.status()
    nodes = {n: c for n, c in report["components"].items() if n.startswith("kafka")}
    assert set(nodes) == {"kafka-1", "kafka-2", "kafka-3"}
    assert all(c["healthy"] for c in nodes.values())
    assert report["kafka"]["brokers"] == 3
    assert report["kafka"]["under_replicated_partitions"] == 0
    admin = AdminClient(three.settings.kafka_conf())
    assert len(admin.list_topics(timeout=10).brokers) == 3
    ids = {node.cluster_id() for node in three.cluster.nodes}
    assert ids == {three.cluster.cluster_id()} and None not in ids


def test_the_catalog_gets_three_replicas_and_min_insync_two(three):
    specs = topics.project_catalog()
    topics.apply(three.settings, specs, replication_factor=three.shape.replication_factor)
    admin = AdminClient(three.settings.kafka_conf())
    metadata = admin.list_topics(timeout=10)
    for spec in specs:
        replicas = {len(p.replicas) for p in metadata.topics[spec.name].partitions.values()}
        assert replicas == {3}, spec.name
    resource = ConfigResource(ConfigResource.Type.TOPIC, specs[0].name)
    configs = admin.describe_configs([resource])[resource].result(30)
    assert configs["min.insync.replicas"].value == "2"
    # Applying again changes nothing and refuses nothing.
    plans = topics.plan(three.settings, specs, replication_factor=3)
    assert {p.action for p in plans} == {"ok"}


@pytest.mark.timeout(900)
def test_the_whole_shop_flow_on_three_secure_brokers(tmp_path):
    """Every component `pipeline up --brokers 3 --secure` starts, each as its own principal;
    orders through the API cause exactly their events, mails and stock."""
    import threading
    import uuid

    from deploy.runtime.bringup import up_with_catalog
    from deploy.runtime.ports import free_port
    from deploy.stack import Ports, Stack
    from producer_django.shop.testing import MailWatch, OrderFlow, ShopApi, flow_problems

    stack = Stack(home=tmp_path / "stack", ports=Ports(free_port(), free_port(), free_port()),
                  external=set(), shape=ClusterShape(brokers=3, secure=True))
    flow = None
    try:
        up_with_catalog(stack)
        report = stack.status()
        unhealthy = sorted(n for n, c in report["components"].items() if not c["healthy"])
        assert not unhealthy, f"unhealthy components: {unhealthy}"
        assert report["kafka"]["brokers"] == 3 and report["kafka"]["secure"] is True
        tag = uuid.uuid4().hex[:6]
        api = ShopApi.of(report)
        skus = api.create_products(f"SEC-{tag}", 4, 10_000)
        users = [api.register(f"sec{n}-{tag}@example.test", f"Customer {n}") for n in range(6)]
        api.close()
        mails = MailWatch(report["smtp"]["maildir"])
        flow = OrderFlow(lambda: ShopApi.of(report), users, skus, rate=5).start()
        threading.Event().wait(20)
        flow.stop()
        problems = flow_problems(stack.settings, report, flow, users, skus, 10_000, mails)
        stopped = sorted(n for n, c in stack.status()["components"].items() if not c["healthy"])
    finally:
        if flow is not None:
            flow.stop()
        stack.down()
    assert len(flow.placed) >= 50
    assert not problems, problems
    assert not stopped, f"components unhealthy after the flow: {stopped}"
