"""Per-role client settings: librdkafka dicts, their KAFKA_CONF_* form, the registry's
SCHEMA_REGISTRY_CONF_* keys, and the equivalent aiokafka (faust) credentials."""

from __future__ import annotations

import ssl

import pytest

from deploy.runtime.cluster import KafkaCluster
from deploy.runtime.kafka import ClusterShape, NodePorts
from deploy.security import credentials
from schemas.config import conf_env, from_env, scram_conf
from schemas.errors import ConfigError


def test_scram_conf_round_trips_through_the_environment_a_child_process_reads():
    conf = scram_conf("worker-mailer", "s3cret-_x", "/certs/ca.crt")
    env = conf_env(conf)
    assert env["KAFKA_CONF_SASL_USERNAME"] == "worker-mailer"
    assert env["KAFKA_CONF_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert from_env({"KAFKA_BOOTSTRAP_SERVERS": "h:1", **env}).kafka_extra == conf


def test_registry_conf_takes_schema_registry_conf_variables():
    settings = from_env({"SCHEMA_REGISTRY_URL": "https://registry.example:8081",
                         "SCHEMA_REGISTRY_CONF_BASIC_AUTH_USER_INFO": "svc:pw"})
    conf = settings.registry_conf()
    assert conf["url"] == "https://registry.example:8081"
    assert conf["basic.auth.user.info"] == "svc:pw"
    assert "basic.auth.user.info" not in repr(settings)  # secrets stay out of reprs


def test_a_secure_cluster_gives_each_principal_its_own_client_config(tmp_path):
    cluster = KafkaCluster(tmp_path, ClusterShape(brokers=3, secure=True),
                           [NodePorts(9000 + i, 9100 + i, 9200 + i) for i in range(3)])
    credentials.ensure(cluster.credentials_file, ["admin", "relay"])
    relay = cluster.client_conf("relay")
    assert relay["sasl.username"] == "relay" and relay["sasl.mechanism"] == "SCRAM-SHA-512"
    assert relay["ssl.ca.location"].endswith("ca.crt")
    assert cluster.admin_conf()["bootstrap.servers"] == (
        "127.0.0.1:9000,127.0.0.1:9001,127.0.0.1:9002")
    assert cluster.client_conf("relay") == relay  # passwords are kept, not regenerated
    assert (cluster.credentials_file.stat().st_mode & 0o777) == 0o600
    plain = KafkaCluster(tmp_path / "p", ClusterShape(), [NodePorts(1, 2)])
    assert plain.client_conf("relay") == {}


def test_faust_gets_the_same_security_settings_as_librdkafka(tmp_path):
    faust = pytest.importorskip("faust")
    from deploy.security import tls
    from streams.base import broker_credentials

    files = tls.ensure(tls.TlsFiles(tmp_path))
    creds = broker_credentials(scram_conf("streams-totals", "pw", str(files.ca_cert)))
    assert isinstance(creds, faust.SASLCredentials)
    assert (creds.username, creds.password) == ("streams-totals", "pw")
    assert creds.mechanism.value == "SCRAM-SHA-512"
    assert creds.protocol.value == "SASL_SSL"
    assert creds.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert broker_credentials({}) is None
    with pytest.raises(ConfigError, match="KAFKA_CONF_SASL_PASSWORD"):
        broker_credentials({"security.protocol": "SASL_SSL", "sasl.username": "x"})
