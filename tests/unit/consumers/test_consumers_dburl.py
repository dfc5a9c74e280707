"""schemas.dburl, the one database-URL parser of the web app and the workers."""

from __future__ import annotations

import pytest

from schemas import dburl
from schemas.errors import ConfigError


def test_targets():
    assert dburl.target("sqlite:////var/lib/app.sqlite3") == dburl.Target(
        "sqlite", "/var/lib/app.sqlite3")
    assert dburl.target("sqlite:///rel.db").location == "rel.db"
    pg = dburl.target("postgres://u:pw@h:5432/app?sslmode=require")
    assert pg == dburl.Target("postgresql", "postgresql://u:pw@h:5432/app?sslmode=require")


def test_errors_name_the_fix_and_hide_the_password():
    with pytest.raises(ConfigError) as err:
        dburl.target("mysql://u:secret@h/db")
    assert "postgres://" in str(err.value) and "secret" not in str(err.value)
    with pytest.raises(ConfigError, match="names no database"):
        dburl.target("postgresql://u:pw@h:5432")


@pytest.mark.parametrize("url", [
    "sqlite:////srv/app/db.sqlite3",
    "sqlite:///relative.sqlite3",
    "postgresql://app:p%40ss%2Fw@db.internal:5433/app",
    "postgresql://app@db/app",
    "postgresql://db:5432/app?sslmode=require",
])
def test_django_entry_and_url_round_trip(url):
    entry = dburl.to_django(url)
    assert dburl.target(dburl.from_django(entry)) == dburl.target(url)
    assert dburl.to_django(dburl.from_django(entry))["NAME"] == entry["NAME"]


def test_django_entry_of_a_postgres_url():
    entry = dburl.to_django("postgres://shop:p%40ss@db.internal:5433/shop?sslmode=require")
    assert (entry["USER"], entry["PASSWORD"], entry["HOST"], entry["PORT"], entry["NAME"]) == (
        "shop", "p@ss", "db.internal", "5433", "shop")
    assert entry["OPTIONS"] == {"sslmode": "require"}


def test_from_django_accepts_a_path_name_and_rejects_what_others_cannot_share(tmp_path):
    entry = {"ENGINE": "django.db.backends.sqlite3", "NAME": tmp_path / "db.sqlite3"}
    assert dburl.from_django(entry) == f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with pytest.raises(ConfigError, match="in-memory SQLite.*DATABASE_URL"):
        dburl.from_django({"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"})
    with pytest.raises(ConfigError, match="mysql.*DATABASE_URL"):
        dburl.from_django({"ENGINE": "django.db.backends.mysql", "NAME": "x"})
