"""Stacks of their own shape (several brokers, secure) in temporary homes, beside the
session's single plaintext broker. Tests marked `cluster` take minutes and run in
`make test-cluster`, not in `make test`."""

from __future__ import annotations

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "cluster: multi-broker and broker-fault tests (make test-cluster)"
    )


def shaped_stack(home, shape):
    """A stack of `shape` on free ports, its Kafka (only) started; stop it with `.down()`."""
    from deploy.runtime.ports import free_port
    from deploy.stack import Ports, Stack

    stack = Stack(home=home, ports=Ports(free_port(), free_port(), free_port()),
                  external=set(), shape=shape)
    try:
        stack.up(only={"kafka"})
    except BaseException:
        stack.down()
        raise
    return stack


@pytest.fixture(scope="session")
def make_shaped_stack():
    return shaped_stack


@pytest.fixture(scope="module")
def secure_stack(tmp_path_factory):
    """One secure broker (SASL_SSL + SCRAM, ACLs from deploy/roles.toml), catalog applied."""
    from deploy import topics
    from deploy.runtime.kafka import ClusterShape

    stack = shaped_stack(tmp_path_factory.mktemp("secure-home"), ClusterShape(1, secure=True))
    try:
        topics.apply(stack.settings, topics.project_catalog(), replication_factor=1)
        yield stack
    finally:
        stack.down()
