from __future__ import annotations

import pytest

from consumers.db import Database
from consumers.options import WorkerOptions, parse_delays
from schemas.errors import ConfigError


def test_unknown_option_is_an_error_naming_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown worker options \['batchsize'\].*batch_size"):
        WorkerOptions.from_mapping({"batchsize": 10})


def test_options_from_mapping():
    options = WorkerOptions.from_mapping({"retry_delays_s": [1, 2], "batch_size": 7})
    assert options.retry_delays_s == (1.0, 2.0) and options.batch_size == 7


def test_invalid_values_are_rejected():
    with pytest.raises(ConfigError, match="batch_size"):
        WorkerOptions(batch_size=0)
    with pytest.raises(ConfigError, match="retry_delays_s"):
        WorkerOptions(retry_delays_s=(-1.0,))


def test_parse_delays():
    assert parse_delays("1,10,60") == (1.0, 10.0, 60.0)
    assert parse_delays("") == ()
    with pytest.raises(ConfigError, match="e.g. 1,10,60"):
        parse_delays("1s,10s")


def test_mail_settings_are_no_worker_options():
    # A handler brings its own options (the shop's notifications take mail_from etc.).
    with pytest.raises(ConfigError, match="unknown worker options"):
        WorkerOptions.from_mapping({"smtp_port": 8025})


def test_the_database_speaks_the_one_url_parser():
    assert Database("sqlite:////abs/app.db").django_database()["NAME"] == "/abs/app.db"
    assert Database("sqlite:///rel.db").dialect == "sqlite"
    pg = Database("postgresql://u:p%40ss@db:5433/app")
    assert pg.dialect == "postgresql" and "p%40ss" not in pg.describe()
    with pytest.raises(ConfigError, match="mysql://"):
        Database("mysql://x/y")
