"""`pipeline up --secure` on one broker: every role can do what deploy/roles.toml grants it and
nothing else; no client gets in without TLS and a valid SCRAM login; each refusal reaches the
user as one line naming the principal, the resource and a hint (schemas/refusals.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from schemas import project
from schemas.errors import AuthenticationRefused, AuthorizationRefused
from schemas.refusals import diagnose, refusal

REPO = Path(__file__).resolve().parents[3]

TOPIC = next(iter(t for t in ("shop.orders",) if t))  # a catalog topic every role knows


def _conf(stack, principal: str, **extra) -> dict:
    return {**stack.status()["kafka"]["client_config"][principal], "log_level": 0, **extra}


def _produce_error(conf: dict, topic: str) -> KafkaError | None:
    errors = []
    producer = Producer({**conf, "message.timeout.ms": 15000})
    producer.produce(topic, b"v", key=b"k", on_delivery=lambda err, msg: errors.append(err))
    producer.flush(30)
    return errors[0] if errors else KafkaError(KafkaError._TIMED_OUT)


def _consume(conf: dict, group: str, topic: str, timeout_s: float = 30.0, assign=False):
    """(first message value, set of error codes seen) of a fresh consumer in `group`
    (subscribed, or with `assign` reading partition 0 without joining the group)."""
    value, errors = _consume_errors(conf, group, topic, timeout_s, assign)
    return value, {err.code() for err, _ in errors}


def _consume_errors(conf, group, topic, timeout_s=30.0, assign=False):
    """(first message value, [(KafkaError, its topic)] seen) of a fresh consumer."""
    conf = {**conf, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": not assign}
    consumer = Consumer(conf)
    errors = []
    try:
        if assign:
            consumer.assign([TopicPartition(topic, 0, 0)])
        else:
            consumer.subscribe([topic])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                errors.append((msg.error(), msg.topic()))
                # Assigned, the coordinator lookup may be refused first: wait for the fetch.
                final = {KafkaError.TOPIC_AUTHORIZATION_FAILED} | (
                    set() if assign else {KafkaError.GROUP_AUTHORIZATION_FAILED})
                if msg.error().code() in final:
                    return None, errors
                continue
            return msg.value(), errors
        return None, errors
    finally:
        consumer.close()


def _pipeline(stack, *args, **env):
    """`pipeline ARGS` on the secure stack, KAFKA_CONF_* from `env`: (exit code, stderr)."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("KAFKA_", "SCHEMA_REGISTRY_"))}
    environ.update({"PIPELINE_HOME": str(stack.home), **env})
    done = subprocess.run([sys.executable, "-m", "deploy.cli", *args], cwd=REPO, env=environ,
                          capture_output=True, text=True, timeout=180)
    return done.returncode, done.stderr


def _login_env(stack, principal: str, **overrides) -> dict:
    conf = {"sasl.username": principal,
            "sasl.password": _conf(stack, principal)["sasl.password"], **overrides}
    return {"KAFKA_CONF_" + k.upper().replace(".", "_"): v for k, v in conf.items()}


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
    refused = refusal(err, _conf(secure_stack, "analyst"), topic=TOPIC, operation="Write")
    assert isinstance(refused, AuthorizationRefused)
    assert f"principal 'analyst' may not Write on topic {TOPIC}" in str(refused)
    _, codes = _consume(_conf(secure_stack, "analyst"), "worker-notifications", TOPIC, 20)
    assert KafkaError.GROUP_AUTHORIZATION_FAILED in codes


def test_a_worker_cannot_use_another_workers_group_or_topics(secure_stack, written):
    workers = sorted(project.current().workers)
    mine, other = f"worker-{workers[0]}", f"worker-{workers[1]}"
    conf = _conf(secure_stack, mine)
    value, codes = _consume(conf, mine, TOPIC)
    assert value == written, codes
    _, errors = _consume_errors(conf, other, TOPIC, 20)
    joined = [err for err, _ in errors if err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED]
    assert joined, errors
    refused = refusal(joined[0], {**conf, "group.id": other})
    assert f"principal '{mine}' may not Read on group {other}" in str(refused)
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


def test_relay_cannot_read(secure_stack, written):
    conf = _conf(secure_stack, "relay")
    _, errors = _consume_errors(conf, f"relay-{uuid.uuid4().hex[:6]}", TOPIC, 20)
    assert KafkaError.GROUP_AUTHORIZATION_FAILED in {err.code() for err, _ in errors}
    # Without a group (assign, like `pipeline replay`) the fetch itself is refused.
    value, errors = _consume_errors(conf, f"replay-{uuid.uuid4().hex[:6]}", TOPIC, 20,
                                    assign=True)
    refused = [(err, topic) for err, topic in errors
               if err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED]
    assert value is None and refused, errors
    err, topic = refused[0]
    assert f"principal 'relay' may not Read on topic {TOPIC}" in str(refusal(err, conf,
                                                                             topic=topic))


def test_plaintext_wrong_password_and_unknown_user_are_refused(secure_stack):
    good = _conf(secure_stack, "analyst")
    plaintext = {"bootstrap.servers": good["bootstrap.servers"], "log_level": 0}
    wrong = {**good, "sasl.password": "not-the-password"}
    stranger = {**good, "sasl.username": "mallory"}
    for conf in (plaintext, wrong, stranger):
        with pytest.raises(KafkaException):
            AdminClient(conf).list_topics(timeout=8)
        # What the caller saw was "transport failure"; the diagnosis reads the real reason.
        refused = diagnose(conf, timeout_s=10)
        assert isinstance(refused, AuthenticationRefused), conf.get("sasl.username")
        assert refused.principal == conf.get("sasl.username", "")
    assert "KAFKA_CONF_SECURITY_PROTOCOL=SASL_SSL" in str(diagnose(plaintext, timeout_s=10))


def test_the_cli_reports_a_refused_group_with_principal_resource_and_role(secure_stack):
    group = f"worker-{sorted(project.current().workers)[0]}"
    code, stderr = _pipeline(
        secure_stack, "offsets", "reset", "--group", group, "--to-earliest", "--topic", TOPIC,
        **_login_env(secure_stack, "analyst"))
    assert code == 1, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert f"principal 'analyst' may not Read on group {group}" in stderr
    assert f"role worker (worker, {group})" in stderr and "[roles.analyst]" in stderr


@pytest.mark.parametrize("login", [
    {"sasl.password": "not-the-password"},
    {"sasl.username": "mallory"},
    {"security.protocol": "PLAINTEXT"},
], ids=["wrong-password", "unknown-user", "plaintext"])
def test_the_cli_reports_a_refused_login_with_the_principal_and_what_to_check(secure_stack,
                                                                               login):
    code, stderr = _pipeline(secure_stack, "topics", "list",
                             **_login_env(secure_stack, "analyst", **login))
    assert code == 1, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    principal = login.get("sasl.username", "analyst")
    assert f"principal {principal!r} could not log in" in stderr
    assert ("KAFKA_CONF_SECURITY_PROTOCOL=SASL_SSL" if "security.protocol" in login
            else "KAFKA_CONF_SASL_PASSWORD") in stderr
