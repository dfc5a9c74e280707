"""The stack's shape: replication per shape, the catalog on the local stack, and a home that
refuses another shape than it was formatted with."""

from __future__ import annotations

import json

import pytest

from deploy.runtime.cluster import local_replication_factor
from deploy.runtime.kafka import ClusterShape
from deploy.stack import INFRASTRUCTURE, Ports, ShapeChanged, Stack
from deploy.topics import TopicSpec, for_replication


@pytest.mark.parametrize("brokers, rf, isr", [(1, 1, 1), (2, 2, 1), (3, 3, 2), (5, 3, 2)])
def test_replication_follows_the_number_of_brokers(brokers, rf, isr):
    shape = ClusterShape(brokers=brokers)
    assert (shape.replication_factor, shape.min_insync_replicas) == (rf, isr)


def test_the_local_shape_sets_replication_and_min_insync_unless_the_topic_says():
    specs = [TopicSpec("a", 3, 1, "delete", 1),
             TopicSpec("b", 3, 1, "delete", 1, {"min.insync.replicas": 1})]
    a, b = for_replication(specs, 3)
    assert (a.replication_factor, a.configs()["min.insync.replicas"]) == (3, "2")
    assert b.configs()["min.insync.replicas"] == "1"
    assert for_replication(specs, None) == specs
    assert "min.insync.replicas" not in for_replication(specs, 1)[0].configs()


def _stack(home, shape=None):
    return Stack(home=home, ports=Ports(19092, 19093, 18081), external=set(), shape=shape)


def test_nodes_are_named_by_shape_and_count_as_infrastructure(tmp_path):
    assert [c.name for c in _stack(tmp_path / "one").cluster.nodes] == ["kafka"]
    three = _stack(tmp_path / "three", ClusterShape(brokers=3))
    assert [n.name for n in three.cluster.nodes] == ["kafka-1", "kafka-2", "kafka-3"]
    assert all(n.name in INFRASTRUCTURE for n in three.cluster.nodes)
    assert "relay" not in INFRASTRUCTURE
    report = three.describe()["kafka"]
    assert report["brokers"] == 3 and report["replication_factor"] == 3
    assert report["bootstrap_servers"].count(",") == 2


def test_a_formatted_home_keeps_its_shape_and_its_ports(tmp_path):
    stack = _stack(tmp_path, ClusterShape(brokers=3))
    with stack.locked():
        stack._record_shape()
    (tmp_path / "kafka-1" / "data").mkdir(parents=True)
    (tmp_path / "kafka-1" / "data" / "meta.properties").write_text("cluster.id=x\n")
    again = _stack(tmp_path)
    assert again.shape == ClusterShape(brokers=3)
    ports = [n.node_ports for n in stack.cluster.nodes]
    assert [n.node_ports for n in again.cluster.nodes] == ports
    state = json.loads((tmp_path / "state.json").read_text())
    assert local_replication_factor(again.settings.bootstrap_servers, tmp_path) == 3
    assert local_replication_factor("10.0.0.1:9092", tmp_path) is None
    assert state["cluster"] == {"brokers": 3, "secure": False}
    with pytest.raises(ShapeChanged, match="another PIPELINE_HOME"):
        with again.locked():
            _stack(tmp_path, ClusterShape(brokers=1, secure=True))._record_shape()
