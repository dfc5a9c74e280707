import pytest

from producer_django.dburl import database_config
from schemas.errors import ConfigError


def test_sqlite_absolute_path_and_wal_options():
    cfg = database_config("sqlite:////var/lib/shop.sqlite3")
    assert cfg["ENGINE"] == "django.db.backends.sqlite3"
    assert cfg["NAME"] == "/var/lib/shop.sqlite3"
    assert "journal_mode=WAL" in cfg["OPTIONS"]["init_command"]
    assert cfg["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_postgres_url_with_quoted_password_and_options():
    cfg = database_config("postgres://shop:p%40ss@db.internal:5433/shop?sslmode=require")
    assert cfg["ENGINE"] == "django.db.backends.postgresql"
    assert (cfg["USER"], cfg["PASSWORD"], cfg["HOST"], cfg["PORT"], cfg["NAME"]) == (
        "shop", "p@ss", "db.internal", "5433", "shop"
    )
    assert cfg["OPTIONS"] == {"sslmode": "require"}


def test_postgresql_scheme_without_port():
    assert database_config("postgresql://u@h/db")["PORT"] == ""


def test_unsupported_scheme_names_the_fix_and_hides_the_password():
    with pytest.raises(ConfigError) as err:
        database_config("mysql://u:secret@h/db")
    assert "postgres://" in str(err.value) and "secret" not in str(err.value)


def test_postgres_without_database_name():
    with pytest.raises(ConfigError, match="names no database"):
        database_config("postgres://u:pw@h:5432")
