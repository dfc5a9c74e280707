"""Every refusal of a secured cluster -> one line naming principal, resource and a hint.

The KafkaErrors are librdkafka's own codes with the texts it gives for each case (seen on the
secure stack: tests/integration/cluster/test_secure_stack.py checks the same on a real broker).
"""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from deploy.failures import as_pipeline_error
from deploy.refusals import role_hint
from deploy.security import roles
from schemas.config import ConnectionSettings, scram_conf
from schemas.errors import AuthenticationRefused, AuthorizationRefused
from schemas.refusals import diagnose, refusal

SCOPE = roles.Scope(
    event_topics=("app.orders", "tasks.default"),
    workers={"mailer": "worker-mailer", "indexer": "worker-indexer"},
    streams={"totals": "streams-totals"},
)


def _conf(user: str, **extra) -> dict:
    return {"bootstrap.servers": "127.0.0.1:9093",
            **scram_conf(user, "secret", "ca.crt"), **extra}


@pytest.fixture(scope="module")
def principals():
    return roles.principals(roles.load(), SCOPE)


def test_analyst_producing_names_principal_topic_write_and_who_may(principals):
    err = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "Broker: Topic authorization failed")
    refused = refusal(err, _conf("analyst"), topic="app.orders", operation="Write")
    assert isinstance(refused, AuthorizationRefused)
    text = str(refused)
    assert "'analyst'" in text and "Write on topic app.orders" in text
    assert "TOPIC_AUTHORIZATION_FAILED" in text and "KAFKA_CONF_SASL_USERNAME" in text
    hint = role_hint(principals, refused)
    assert "relay" in hint and "role streams (streams, streams-totals)" in hint
    assert "[roles.analyst]" in hint and "worker" not in hint.split(" to: ")[1].split(".")[0]


def test_worker_joining_another_workers_group_names_that_group_and_its_owner(principals):
    err = KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED,
                     "FindCoordinator response error: Group authorization failed.")
    refused = refusal(err, _conf("worker-mailer", **{"group.id": "worker-indexer"}))
    assert str(refused).startswith("principal 'worker-mailer' may not Read on group "
                                   "worker-indexer (GROUP_AUTHORIZATION_FAILED: FindCoordinator")
    hint = role_hint(principals, refused)
    assert "role worker (worker, worker-indexer); admin" in hint
    assert "worker-mailer" not in hint.split(" to: ")[1].split(".")[0]


def test_relay_reading_is_refused_on_the_fetch_and_names_the_topic(principals):
    err = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED,
                     "Fetch from broker 1 failed: Broker: Topic authorization failed")
    refused = refusal(err, _conf("relay"), topic="app.orders")
    assert "'relay' may not Read on topic app.orders" in str(refused)
    hint = role_hint(principals, refused)
    assert "analyst" in hint and "role worker" in hint and "[roles.relay]" in hint


def test_a_subscription_refusal_takes_the_topic_from_librdkafkas_text():
    err = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED,
                     "Subscribed topic not available: worker-indexer.dlq: Broker: Topic "
                     "authorization failed")
    refused = refusal(err, _conf("analyst", **{"group.id": "analyst-1"}))
    assert "Describe on topic worker-indexer.dlq" in str(refused)


def test_a_wrapping_message_can_name_the_group():
    err = KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED, "Broker: Group authorization failed")
    refused = refusal(err, _conf("analyst"), context="describe group 'worker-mailer': ...")
    assert refused.resource == "group worker-mailer"


def test_cluster_and_transactional_id_refusals():
    idempotent = KafkaError(KafkaError.CLUSTER_AUTHORIZATION_FAILED,
                            "Failed to acquire idempotence PID from broker: Broker: Cluster "
                            "authorization failed", fatal=True)
    text = str(refusal(idempotent, _conf("analyst")))
    assert "IdempotentWrite on the cluster" in text and "enable.idempotence" in text
    tx = KafkaError(KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                    "Failed to find transaction coordinator: Transactional Id authorization "
                    "failed.", fatal=True)
    text = str(refusal(tx, _conf("relay", **{"transactional.id": "relay-tx"})))
    assert "'relay' may not Write on transactional id relay-tx" in text


def test_an_unnamed_topic_gets_the_roles_with_every_topic(principals):
    err = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "Authorization failed.")
    refused = refusal(err, _conf("analyst"))
    assert refused.resource == "a topic (not named by the broker)"
    assert "grants access to every topic to: lineage; admin." in role_hint(principals, refused)


@pytest.mark.parametrize("user", ["analyst", "mallory"])
def test_a_wrong_password_or_unknown_user_names_the_user_and_the_variables(user):
    err = KafkaError(KafkaError._AUTHENTICATION,
                     "sasl_ssl://127.0.0.1:9093/bootstrap: SASL authentication error: "
                     "Authentication failed during authentication due to invalid credentials "
                     "with SASL mechanism SCRAM-SHA-512 (after 502ms in state AUTH_REQ)")
    refused = refusal(err, _conf(user))
    assert isinstance(refused, AuthenticationRefused) and refused.principal == user
    text = str(refused)
    assert f"principal {user!r} could not log in" in text and "SCRAM-SHA-512" in text
    assert "KAFKA_CONF_SASL_PASSWORD" in text and "kafka.client_config" in text


def test_an_untrusted_certificate_names_the_ca_file():
    err = KafkaError(KafkaError._SSL,
                     "sasl_ssl://127.0.0.1:9093/bootstrap: SSL handshake failed: error:0A000086:"
                     "SSL routines::certificate verify failed")
    text = str(refusal(err, _conf("analyst")))
    assert "TLS handshake failed" in text and "the CA file ca.crt" in text
    assert "KAFKA_CONF_SSL_CA_LOCATION" in text


def test_a_plaintext_client_dropped_by_a_tls_listener():
    err = KafkaError(KafkaError._TRANSPORT,
                     "127.0.0.1:9093/bootstrap: Disconnected: connection closed by peer: "
                     "receive 0 after POLLIN (after 22ms in state APIVERSION_QUERY)")
    refused = refusal(err, {"bootstrap.servers": "127.0.0.1:9093"})
    assert str(refused).startswith("a client without a login could not log in")
    assert "KAFKA_CONF_SECURITY_PROTOCOL=SASL_SSL" in str(refused)
    # The same drop of a TLS client is no plaintext mistake.
    assert refusal(err, _conf("analyst")) is None


def test_other_errors_are_no_refusals():
    for code in (KafkaError._ALL_BROKERS_DOWN, KafkaError.UNKNOWN_TOPIC_OR_PART,
                 KafkaError.NOT_COORDINATOR):
        assert refusal(KafkaError(code), _conf("analyst")) is None


def test_the_cli_path_turns_a_kafka_exception_into_the_refusal():
    settings = ConnectionSettings(bootstrap_servers="127.0.0.1:9093",
                                  kafka_extra=scram_conf("analyst", "secret"))
    err = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED,
                     "Fetch from broker 1 failed: Broker: Topic authorization failed")
    error = as_pipeline_error(KafkaException(err), settings, topic="app.orders")
    assert isinstance(error, AuthorizationRefused) and not error.retriable
    assert "'analyst' may not Read on topic app.orders" in str(error)
    assert "\n" not in str(error)


def test_a_refusal_wrapped_in_another_pipeline_error_is_found():
    from deploy.failures import explain_refusal
    from schemas.errors import broker_unreachable

    settings = ConnectionSettings(kafka_extra=scram_conf("analyst", "secret"))
    err = KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED, "Broker: Group authorization failed")
    try:
        try:
            raise KafkaException(err)
        except KafkaException as exc:
            raise broker_unreachable("127.0.0.1:9093", f"describe group 'g1': {exc}") from exc
    except Exception as wrapped:
        refused = explain_refusal(wrapped, settings)
    assert refused.resource == "group g1" and refused.principal == "analyst"


def test_diagnose_says_nothing_when_no_broker_listens():
    from deploy.runtime.ports import free_port

    assert diagnose({"bootstrap.servers": f"127.0.0.1:{free_port()}"}, timeout_s=2) is None
