"""`pipeline up --secure` on one broker: every role can do what deploy/roles.toml grants it and
nothing else; no client gets in without TLS and a valid SCRAM login."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from schemas import project

TOPIC = next(iter(t for t in ("shop.orders",) if t))  # a catalog topic every role knows


def _conf(stack, principal: str, **extra) -> dict:
    return {**stack.status()["kafka"]["client_config"][principal], "log_level": 0, **extra}


def _produce_error(conf: dict, topic: str) -> KafkaError | None:
    errors = []
    producer = Producer({**conf, "message.timeout.ms": 15000})
    producer.produce(topic, b"v", key=b"k", on_delivery=lambda err, msg: errors.append(err))
    producer.flush(30)
    return errors[0] if errors else KafkaError(KafkaError._TIMED_OUT)


def _consume(conf: dict, group: str, topic: str, timeout_s: float = 30.0):
    """(first message value, set of error codes seen) of a fresh consumer in `group`."""
    consumer = Consumer({**conf, "group.id": group, "auto.offset.reset": "earliest"})
    codes = set()
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                codes.add(msg.error().code())
                if msg.error().code() in (KafkaError.GROUP_AUTHORIZATION_FAILED,
                                          KafkaError.TOPIC_AUTHORIZATION_FAILED):
                    return None, codes
                continue
            return msg.value(), codes
        return None, codes
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def written(secure_stack):
    """One record on TOPIC, written by the relay (its role may write event topics)."""
    err = _produce_error(_conf(secure_stack, "relay"), TOPIC)
    assert err is None, err
    return b"v"


def test_status_gives_a_client_config_per_role(secure_stack):
    report = secure_stack.status()
    configs = report["kafka"]["client_config"]
    assert {"relay", "worker", "streams", "analyst", "admin"} <= set(configs)
    workers = {f"worker-{name}" for name in project.current().workers}
    assert workers <= set(configs)
    assert all(c["security.protocol"] == "SASL_SSL" and c["sasl.mechanism"] == "SCRAM-SHA-512"
               for c in configs.values())
    assert report["kafka"]["secure"] is True
    assert report["components"]["kafka"]["healthy"] is True


def test_analyst_reads_in_its_groups_and_cannot_produce(secure_stack, written):
    value, codes = _consume(_conf(secure_stack, "analyst"), f"analyst-{uuid.uuid4().hex[:6]}",
                            TOPIC)
    assert value == written, codes
    err = _produce_error(_conf(secure_stack, "analyst"), TOPIC)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    _, codes = _consume(_conf(secure_stack, "analyst"), "worker-notifications", TOPIC, 20)
    assert KafkaError.GROUP_AUTHORIZATION_FAILED in codes


def test_a_worker_cannot_use_another_workers_group_or_topics(secure_stack, written):
    workers = sorted(project.current().workers)
    mine, other = f"worker-{workers[0]}", f"worker-{workers[1]}"
    conf = _conf(secure_stack, mine)
    value, codes = _consume(conf, mine, TOPIC)
    assert value == written, codes
    _, codes = _consume(conf, other, TOPIC, 20)
    assert KafkaError.GROUP_AUTHORIZATION_FAILED in codes
    _, codes = _consume(conf, mine, f"{other}.dlq", 20)
    assert KafkaError.TOPIC_AUTHORIZATION_FAILED in codes
    err = _produce_error(conf, f"{other}.retry.1")
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_admin_can_do_everything(secure_stack):
    admin = AdminClient(_conf(secure_stack, "admin"))
    name = f"admin-made-{uuid.uuid4().hex[:6]}"
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(30)
    assert _produce_error(_conf(secure_stack, "admin"), name) is None
    admin.delete_topics([name])[name].result(30)


def test_plaintext_wrong_password_and_unknown_user_are_refused(secure_stack):
    good = _conf(secure_stack, "analyst")
    plaintext = {"bootstrap.servers": good["bootstrap.servers"], "log_level": 0}
    wrong = {**good, "sasl.password": "not-the-password"}
    stranger = {**good, "sasl.username": "mallory"}
    for conf in (plaintext, wrong, stranger):
        with pytest.raises(KafkaException):
            AdminClient(conf).list_topics(timeout=8)
