"""One source of connections: flags, then the environment, then the local stack."""

from __future__ import annotations

from types import SimpleNamespace

from deploy import connections
from schemas.config import ConnectionSettings


class FakeStack:
    """What `resolve` reads of deploy.stack.Stack: its home and its addresses."""

    def __init__(self, home="/srv/stack-a"):
        self.home = home
        self.settings = ConnectionSettings(
            bootstrap_servers="127.0.0.1:19092",
            schema_registry_url="http://127.0.0.1:18081/apis/ccompat/v7",
        )


ENV = {
    "KAFKA_BOOTSTRAP_SERVERS": "env-broker:9092",
    "SCHEMA_REGISTRY_URL": "http://env-registry:8081",
    "DATABASE_URL": "postgresql://env/db",
    "KAFKA_CONF_SECURITY_PROTOCOL": "SASL_SSL",
}


def test_flags_win_over_the_environment():
    resolved = connections.resolve(
        "flag-broker:9092", "http://flag-registry:8081", "sqlite:///flag.db",
        environ=ENV, stack=FakeStack(),
    )
    s = resolved.settings
    assert (s.bootstrap_servers, s.schema_registry_url, s.database_url) == (
        "flag-broker:9092", "http://flag-registry:8081", "sqlite:///flag.db")
    assert {k: v.kind for k, v in resolved.sources.items()} == {
        "bootstrap_servers": "flag", "schema_registry_url": "flag", "database_url": "flag"}
    # KAFKA_CONF_* still applies: it adds keys, it names no address.
    assert s.kafka_conf()["security.protocol"] == "SASL_SSL"


def test_the_environment_wins_over_the_local_stack():
    resolved = connections.resolve(environ=ENV, stack=FakeStack())
    assert resolved.settings.bootstrap_servers == "env-broker:9092"
    assert resolved.settings.schema_registry_url == "http://env-registry:8081"
    assert resolved.sources["bootstrap_servers"].describe() == "from KAFKA_BOOTSTRAP_SERVERS"
    assert resolved.sources["database_url"].describe() == "from DATABASE_URL"


def test_the_local_stack_gives_what_nothing_else_does():
    resolved = connections.resolve(environ={}, stack=FakeStack("/srv/stack-a"))
    assert resolved.settings.bootstrap_servers == "127.0.0.1:19092"
    assert resolved.settings.schema_registry_url == "http://127.0.0.1:18081/apis/ccompat/v7"
    assert resolved.settings.database_url is None
    lines = resolved.describe()
    assert lines[0] == "bootstrap servers 127.0.0.1:19092 (from the local stack in /srv/stack-a)"
    assert "from the local stack in /srv/stack-a" in lines[1]
    assert "Django settings decide" in lines[2]


def test_each_value_is_resolved_on_its_own():
    resolved = connections.resolve(
        "flag-broker:9092", environ={"SCHEMA_REGISTRY_URL": "http://env:8081"},
        stack=FakeStack(),
    )
    assert {k: v.kind for k, v in resolved.sources.items()} == {
        "bootstrap_servers": "flag", "schema_registry_url": "environment",
        "database_url": "default"}


def test_the_stack_is_not_consulted_when_flags_and_environment_say_everything():
    class Exploding:
        @property
        def settings(self):
            raise AssertionError("the local stack was consulted")

    connections.resolve("b:1", "http://r:2", environ={}, stack=Exploding())


def test_from_args_resolves_once_and_verbose_prints_the_sources(capsys, monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "env-broker:9092")
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", "http://env-registry:8081")
    args = SimpleNamespace(verbose=True, bootstrap_servers="flag-broker:1",
                           schema_registry_url=None, database_url=None)
    first = connections.from_args(args)
    assert connections.from_args(args) is first
    err = capsys.readouterr().err
    assert err.count("bootstrap servers flag-broker:1 (from --bootstrap-servers)") == 1
    assert "schema registry http://env-registry:8081 (from SCHEMA_REGISTRY_URL)" in err


def test_the_source_of_an_unreachable_address_is_found():
    resolved = connections.resolve(environ={}, stack=FakeStack("/srv/stack-a"))
    assert resolved.source_of("127.0.0.1:19092").kind == "local stack"
    assert resolved.source_of("http://127.0.0.1:18081/apis/ccompat/v7").kind == "local stack"
    assert resolved.source_of("elsewhere:1") is None
