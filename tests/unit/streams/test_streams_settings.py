import pytest

from schemas.errors import ConfigError
from streams.codec import dead_letter_headers
from streams.settings import from_env
from streams.shop import settings as shop_settings
from streams.shop.summary import last_completed_hour, summary_record


def test_defaults_come_from_the_app_name():
    s = from_env("revenue", {})
    assert (s.app, s.app_id, s.web_port, s.store) == ("revenue", "streams-revenue", 6066, "rocksdb")
    assert s.dead_letter_topic == "streams-revenue.dlq"
    assert s.output_topic("billing.totals") == "billing.totals"


def test_the_declared_name_given_by_the_stack_wins():
    s = from_env("revenue", {"STREAMS_APP": "revenue-eu"})
    assert (s.app, s.app_id) == ("revenue-eu", "streams-revenue-eu")
    with pytest.raises(ConfigError, match="pipeline streams run"):
        from_env(None, {})


def test_a_copy_is_configured_by_environment():
    s = from_env("inventory", {"STREAMS_APP_ID": "replay-1", "STREAMS_WEB_PORT": "7001",
                               "STREAMS_DATA_DIR": "/tmp/x", "STREAMS_STORE": "memory",
                               "STREAMS_OUTPUT_TOPICS": "levels=copy.levels",
                               "STREAMS_OUTPUT_PREFIX": "replay-1."})
    assert (s.app_id, s.web_port, str(s.data_dir), s.store_url) == (
        "replay-1", 7001, "/tmp/x", "memory://")
    assert s.output_topic("levels") == "copy.levels"
    assert s.output_topic("alerts") == "replay-1.alerts"


def test_an_app_declares_its_own_keys():
    env = {"STREAMS_THRESHOLD": "7"}
    with pytest.raises(ConfigError, match="STREAMS_THRESHOLD"):
        from_env("revenue", env)
    s = from_env("revenue", env, extra_keys=["THRESHOLD", "EMAIL"])
    assert s.get("THRESHOLD", 5, int) == 7 and s.get("EMAIL", "x@example.com") == "x@example.com"
    with pytest.raises(ConfigError, match="extra_keys"):
        s.get("OTHER", None)
    with pytest.raises(ConfigError, match="STREAMS_THRESHOLD='x'"):
        from_env("revenue", {"STREAMS_THRESHOLD": "x"}, extra_keys=["THRESHOLD"]).get(
            "THRESHOLD", 5, int)


def test_unknown_or_invalid_settings_are_errors():
    with pytest.raises(ConfigError, match="STREAMS_LEVEL_TOPIC"):
        from_env("revenue", {"STREAMS_LEVEL_TOPIC": "x"})
    with pytest.raises(ConfigError, match="STREAMS_WEB_PORT='abc'"):
        from_env("revenue", {"STREAMS_WEB_PORT": "abc"})
    with pytest.raises(ConfigError, match="rocksdb, memory"):
        from_env("revenue", {"STREAMS_STORE": "redis"})
    with pytest.raises(ConfigError, match="topic=other"):
        from_env("revenue", {"STREAMS_OUTPUT_TOPICS": "a=b,c"})


def test_the_shop_settings_keep_their_variables():
    s = shop_settings.from_env("inventory", {})
    assert (s.stream.app_id, s.levels_topic, s.low_stock_threshold, s.summary_interval_s) == (
        "streams-inventory", "shop.inventory.levels", 5, None)
    s = shop_settings.from_env("inventory", {"STREAMS_LEVELS_TOPIC": "replay.levels",
                                             "STREAMS_LOW_STOCK_THRESHOLD": "2",
                                             "STREAMS_SUMMARY_INTERVAL_S": "3"})
    assert (s.levels_topic, s.low_stock_threshold, s.summary_interval_s) == (
        "replay.levels", 2, 3.0)
    with pytest.raises(ConfigError, match="STREAMS_LEVEL_TOPIC"):
        shop_settings.from_env("inventory", {"STREAMS_LEVEL_TOPIC": "x"})


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
