import pytest

from schemas.errors import ConfigError
from streams.codec import dead_letter_headers
from streams.settings import from_env
from streams.shop.summary import last_completed_hour, summary_record


def test_defaults():
    s = from_env("inventory", {})
    assert (s.app_id, s.web_port, s.levels_topic, s.store) == (
        "streams-inventory", 6067, "shop.inventory.levels", "rocksdb")
    assert s.dead_letter_topic == "streams-inventory.dlq"
    assert s.summary_interval_s is None


def test_a_replay_copy_is_configured_by_environment():
    s = from_env("inventory", {"STREAMS_APP_ID": "replay-1", "STREAMS_WEB_PORT": "7001",
                               "STREAMS_LEVELS_TOPIC": "replay.levels",
                               "STREAMS_DATA_DIR": "/tmp/x", "STREAMS_STORE": "memory"})
    assert (s.app_id, s.web_port, s.levels_topic, str(s.data_dir), s.store_url) == (
        "replay-1", 7001, "replay.levels", "/tmp/x", "memory://")


def test_unknown_or_invalid_settings_are_errors():
    with pytest.raises(ConfigError, match="STREAMS_LEVEL_TOPIC"):
        from_env("inventory", {"STREAMS_LEVEL_TOPIC": "x"})
    with pytest.raises(ConfigError, match="STREAMS_WEB_PORT='abc'"):
        from_env("inventory", {"STREAMS_WEB_PORT": "abc"})
    with pytest.raises(ConfigError, match="rocksdb, memory"):
        from_env("inventory", {"STREAMS_STORE": "redis"})
    with pytest.raises(ConfigError, match="known apps"):
        from_env("nope", {})


def test_dead_letter_headers_name_the_origin():
    headers = dict(dead_letter_headers("shop.orders", 2, 41, ValueError("bad"), "g"))
    assert headers["origin.topic"] == b"shop.orders"
    assert headers["origin.partition"] == b"2" and headers["origin.offset"] == b"41"
    assert headers["error.type"] == b"ValueError" and headers["error.message"] == b"bad"


def test_summary_covers_the_last_completed_hour_with_a_stable_id():
    start, end = last_completed_hour(7_200_000 + 5)
    assert (start, end) == (3_600_000, 7_200_000)
    a = summary_record("app", start, end, {"B": 1, "A": 2})
    assert a == summary_record("app", start, end, {"A": 2, "B": 1})
    assert a["units_sold"] == 3 and a["aggregate_id"] == "sales-summary:3600000"
