"""The topics faust creates (internal, changelog, dead letters) get min(3, brokers) replicas on
a local stack, and whatever STREAMS_REPLICATION_FACTOR says elsewhere."""

import pytest

from deploy.runtime.kafka import ClusterShape
from deploy.stack import Ports, Stack
from schemas.errors import ConfigError
from streams.base import make_app
from streams.settings import from_env
from streams.stack import StreamWorker


def test_the_default_is_one_replica():
    assert from_env("revenue", {}).replication_factor == 1


def test_an_external_cluster_sets_it():
    assert from_env("revenue", {"STREAMS_REPLICATION_FACTOR": "3"}).replication_factor == 3


@pytest.mark.parametrize("value", ["0", "three"])
def test_a_bad_factor_names_the_fix(value):
    with pytest.raises(ConfigError, match="STREAMS_REPLICATION_FACTOR"):
        from_env("revenue", {"STREAMS_REPLICATION_FACTOR": value})


def test_the_app_creates_its_topics_with_it(tmp_path):
    settings = from_env("revenue", {"STREAMS_REPLICATION_FACTOR": "3",
                                    "STREAMS_DATA_DIR": str(tmp_path)})
    assert make_app(settings).conf.topic_replication_factor == 3


@pytest.mark.parametrize(("brokers", "factor"), [(1, "1"), (3, "3"), (5, "3")])
def test_the_stack_passes_the_catalogs_rule(tmp_path, brokers, factor):
    stack = Stack(home=tmp_path, ports=Ports(kafka=19092, kafka_controller=19093, registry=18081),
                  external=set(), shape=ClusterShape(brokers=brokers))
    env = StreamWorker(stack, "inventory", 16066).process().env
    assert env["STREAMS_REPLICATION_FACTOR"] == factor
    settings = from_env(None, {k: v for k, v in env.items() if k.startswith("STREAMS_")})
    assert settings.replication_factor == int(factor)
