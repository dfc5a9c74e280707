"""The outbox admin (read-only rows, a logged retry action, dates, escaped pretty payload) and
GET /health/ (degraded with reasons), through Django's test client on a real SQLite database.

Each scenario runs in its own process (Django is configured once per process) on a copy of a
database migrated once for the module.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[2]
ENV_OF_OTHER_STACKS = ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL",
                       "PIPELINE_RELAY_HEARTBEAT_FILE", "SHOP_PIPELINE_JSON")


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ENV_OF_OTHER_STACKS}
    return {**env, "DJANGO_SETTINGS_MODULE": "producer_django.shop.settings",
            "PIPELINE_PROJECT": str(REPO),
            "PIPELINE_HOME": str(home), "DATABASE_URL": f"sqlite:///{home / 'shop.sqlite3'}"}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("template")
    done = subprocess.run(
        [sys.executable, "-m", "producer_django.manage", "pipeline_setup"],
        env=_env(home), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return home / "shop.sqlite3"


def scenario(name: str, migrated: Path, tmp_path: Path) -> dict:
    shutil.copy(migrated, tmp_path / "shop.sqlite3")
    done = subprocess.run(
        [sys.executable, str(HERE / "shop_scenarios.py"), name],
        env=_env(tmp_path), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def admin_pages(migrated, tmp_path_factory) -> dict:
    return scenario("admin_is_read_only", migrated, tmp_path_factory.mktemp("admin"))


def test_outbox_rows_cannot_be_added_changed_or_deleted(admin_pages):
    page = admin_pages
    assert page["detail_status"] == 200
    assert not page["changelist_has_delete_action"] and not page["changelist_has_add_link"]
    assert page["changelist_has_retry_action"]
    assert not page["detail_has_save"] and not page["detail_has_delete"]
    assert page["post_change_status"] == 403
    assert page["add_status"] == 403
    assert page["delete_status"] == 403 and page["delete_post_status"] == 403
    assert page["row_still_there"] and page["attempts_after"] == 0


def test_outbox_detail_shows_dates_and_an_escaped_pretty_payload(admin_pages):
    page = admin_pages
    assert page["script_escaped"] and not page["script_raw"]
    assert page["payload_pretty"]
    assert page["occurred_at_shown_as_date"]


def test_retry_is_an_explicit_logged_action_for_those_who_may_change_rows(migrated, tmp_path):
    found = scenario("admin_retry_action", migrated, tmp_path)
    assert found["viewer_status"] == 200 and not found["viewer_sees_retry"]
    assert found["attempts_after_viewer"] == 3
    assert found["status"] == 200
    assert found["attempts"] == 0 and found["available_now"]
    assert found["last_error_kept"] == "broker said no"
    assert found["published_untouched"] and not found["published_logged"]
    assert found["logged"] == "Retry requested: attempts reset, available now."
    assert found["logged_by"] == "dev"
    assert found["message"] == [
        "1 rows will be retried at the next relay pass. 1 already published rows were left alone."
    ]


def test_health_is_degraded_with_reasons_while_the_relay_is_dead_or_behind(migrated, tmp_path):
    found = scenario("health_reports_a_dead_relay_and_a_growing_backlog", migrated, tmp_path)
    unconfigured = found["unconfigured"]
    assert unconfigured["code"] == 200 and unconfigured["status"] == "ok"
    assert unconfigured["reasons"] == [] and "relay" not in unconfigured

    missing = found["missing"]
    assert missing["code"] == 200 and missing["status"] == "degraded"
    assert missing["reasons"] == [
        "the relay heartbeat file does not exist: the relay is not running"]
    assert found["missing_strict"]["code"] == 503

    fresh = found["fresh"]
    assert fresh["status"] == "ok" and fresh["relay"]["heartbeat_age_s"] < 15
    assert found["fresh_strict"]["code"] == 200

    [stale] = found["stale"]["reasons"]
    assert found["stale"]["status"] == "degraded"
    assert "relay heartbeat is 60 s old (limit 15 s" in stale

    old = found["old_backlog"]
    assert old["status"] == "degraded" and old["outbox"]["backlog"] == 1
    [reason] = old["reasons"]
    assert "oldest pending event is 3600 s old (limit 300 s" in reason

    off = found["heartbeat_switched_off"]
    assert off["status"] == "ok" and "relay" not in off


def test_the_models_and_their_migrations_agree(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "producer_django.manage", "makemigrations", "--check", "--dry-run"],
        env=_env(tmp_path), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, f"a model change without its migration:\n{done.stdout}"
    assert "No changes detected" in done.stdout


def test_publish_returns_the_stored_row_and_a_failed_insert_dooms_the_transaction(
    migrated, tmp_path
):
    found = scenario("publish_returns_the_stored_row_and_a_failed_insert_dooms_the_transaction",
                     migrated, tmp_path)
    assert found == {"same_fields": True, "created_at_equal": True, "needs_rollback": True}
