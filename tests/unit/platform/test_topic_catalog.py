import pytest

from deploy import topics
from schemas.errors import ConfigError


def write(tmp_path, text):
    path = tmp_path / "topics.toml"
    path.write_text(text)
    return path


def test_defaults_are_laid_under_each_topic(tmp_path):
    path = write(
        tmp_path,
        """
[defaults]
partitions = 3
replication_factor = 1
cleanup_policy = "delete"
retention_ms = 1000
[topics.a]
[topics.b]
partitions = 6
cleanup_policy = "compact"
config = { "segment.ms" = "60000" }
""",
    )
    a, b = topics.load_catalog(path)
    assert (a.name, a.partitions, a.cleanup_policy) == ("a", 3, "delete")
    assert b.partitions == 6
    assert b.configs() == {
        "cleanup.policy": "compact",
        "retention.ms": "1000",
        "segment.ms": "60000",
    }


def test_unknown_key_is_an_error_naming_it(tmp_path):
    path = write(tmp_path, "[defaults]\npartitions = 1\n[topics.a]\npartitons = 3\n")
    with pytest.raises(ConfigError, match="partitons"):
        topics.load_catalog(path)


def test_unknown_cleanup_policy_is_rejected(tmp_path):
    path = write(
        tmp_path,
        '[topics.a]\npartitions=1\nreplication_factor=1\nretention_ms=1\ncleanup_policy="compacted"\n',
    )
    with pytest.raises(ConfigError, match="cleanup_policy 'compacted'"):
        topics.load_catalog(path)


def test_a_minimal_topic_gets_the_builtin_defaults(tmp_path):
    path = write(tmp_path, "[topics.a]\npartitions = 1\n")
    (spec,) = topics.load_catalog(path)
    assert (spec.partitions, spec.replication_factor, spec.cleanup_policy) == (1, 1, "delete")


def test_project_catalog_loads():
    names = [t.name for t in topics.project_catalog()]
    assert "shop.orders" in names and len(names) == len(set(names))
    levels = next(t for t in topics.project_catalog() if t.name == "shop.inventory.levels")
    assert levels.cleanup_policy == "compact"
