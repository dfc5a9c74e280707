"""`topics apply` against the real broker: idempotent, grows, refuses destructive changes."""

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from deploy import topics


def catalog_file(tmp_path, body):
    path = tmp_path / "topics.toml"
    path.write_text(
        '[defaults]\nreplication_factor = 1\ncleanup_policy = "delete"\nretention_ms = 3600000\n'
        + body
    )
    return topics.load_catalog(path)


def topic_config(settings, name, key):
    admin = AdminClient(settings.kafka_conf())
    [future] = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, name)]).values()
    return future.result(timeout=30)[key].value


def test_apply_creates_then_changes_nothing(settings, tmp_path, unique):
    specs = catalog_file(
        tmp_path,
        f'[topics."t.{unique}.a"]\npartitions = 2\n'
        f'[topics."t.{unique}.b"]\npartitions = 1\ncleanup_policy = "compact"\n',
    )
    first = topics.apply(settings, specs)
    assert [p.action for p in first] == ["create", "create"]
    second = topics.apply(settings, specs)
    assert [p.action for p in second] == ["ok", "ok"]
    assert topic_config(settings, f"t.{unique}.b", "cleanup.policy") == "compact"


def test_apply_raises_partitions_and_alters_configs(settings, tmp_path, unique):
    name = f"t.{unique}.grow"
    topics.apply(settings, catalog_file(tmp_path, f'[topics."{name}"]\npartitions = 1\n'))
    grown = catalog_file(tmp_path, f'[topics."{name}"]\npartitions = 4\nretention_ms = 7200000\n')
    [p] = topics.apply(settings, grown)
    assert p.action == "update"
    assert AdminClient(settings.kafka_conf()).list_topics(name, timeout=10).topics[
        name
    ].partitions.keys() == {0, 1, 2, 3}
    assert topic_config(settings, name, "retention.ms") == "7200000"
    assert [q.action for q in topics.apply(settings, grown)] == ["ok"]


def test_apply_refuses_fewer_partitions_and_changes_nothing(settings, tmp_path, unique):
    name = f"t.{unique}.shrink"
    other = f"t.{unique}.untouched"
    topics.apply(settings, catalog_file(tmp_path, f'[topics."{name}"]\npartitions = 3\n'))
    shrunk = catalog_file(
        tmp_path, f'[topics."{name}"]\npartitions = 1\n[topics."{other}"]\npartitions = 1\n'
    )
    with pytest.raises(topics.DestructiveChangeRefused, match="cannot remove partitions"):
        topics.apply(settings, shrunk)
    assert other not in AdminClient(settings.kafka_conf()).list_topics(timeout=10).topics


def test_apply_refuses_cleanup_policy_change_on_a_topic_with_data(settings, tmp_path, unique):
    name = f"t.{unique}.policy"
    topics.apply(settings, catalog_file(tmp_path, f'[topics."{name}"]\npartitions = 1\n'))
    producer = Producer(settings.kafka_conf())
    producer.produce(name, b"v", key=b"k")
    assert producer.flush(30) == 0
    compacted = catalog_file(
        tmp_path, f'[topics."{name}"]\npartitions = 1\ncleanup_policy = "compact"\n'
    )
    with pytest.raises(topics.DestructiveChangeRefused, match="holds data"):
        topics.apply(settings, compacted)
    assert topic_config(settings, name, "cleanup.policy") == "delete"


def test_cleanup_policy_of_an_empty_topic_may_change(settings, tmp_path, unique):
    name = f"t.{unique}.empty"
    topics.apply(settings, catalog_file(tmp_path, f'[topics."{name}"]\npartitions = 1\n'))
    compacted = catalog_file(
        tmp_path, f'[topics."{name}"]\npartitions = 1\ncleanup_policy = "compact"\n'
    )
    [p] = topics.apply(settings, compacted)
    assert p.action == "update"
    assert topic_config(settings, name, "cleanup.policy") == "compact"


def test_project_catalog_is_applied_in_the_session(settings):
    plans = topics.plan(settings, topics.project_catalog())
    assert {p.action for p in plans} == {"ok"}
