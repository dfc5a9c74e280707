from schemas.config import ConnectionSettings, database_url, from_env, paths_from_env


def test_defaults_point_at_the_local_stack():
    settings = from_env({})
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.schema_registry_url.endswith("/apis/ccompat/v7")


def test_environment_overrides_and_extra_kafka_keys():
    settings = from_env(
        {
            "KAFKA_BOOTSTRAP_SERVERS": "k1:9092,k2:9092",
            "SCHEMA_REGISTRY_URL": "http://sr:8081",
            "KAFKA_CONF_SECURITY_PROTOCOL": "SASL_SSL",
        }
    )
    assert settings.kafka_conf()["bootstrap.servers"] == "k1:9092,k2:9092"
    assert settings.kafka_conf()["security.protocol"] == "SASL_SSL"
    assert settings.registry_conf()["url"] == "http://sr:8081"


def test_kafka_conf_does_not_mutate_settings():
    settings = ConnectionSettings()
    settings.kafka_conf(**{"group.id": "g"})
    assert "group.id" not in settings.kafka_conf()


def test_database_url_defaults_to_sqlite_in_home():
    paths = paths_from_env({"PIPELINE_HOME": "/srv/pipeline"})
    assert database_url(ConnectionSettings(), paths) == "sqlite:////srv/pipeline/pipeline.sqlite3"
    assert (
        database_url(ConnectionSettings(database_url="postgres://x/y"), paths) == "postgres://x/y"
    )
