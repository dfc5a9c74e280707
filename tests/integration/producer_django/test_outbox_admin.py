"""The outbox's admin page, retention cleanup, and a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from producer_django.shop.testing import ShopProcesses
from producer_django.testing import query, wait_until

HERE = Path(__file__).parent


def test_admin_shows_backlog_oldest_age_and_failures(settings, tmp_path):
    shop = ShopProcesses(settings, tmp_path / "home")
    shop.setup()
    assert shop.workload("--prefix", "adm", "--skus", "3", "--events", "5", "--setup").wait(
        120) == 0
    query(shop.db_url, "UPDATE events_outbox SET attempts = 2, last_error = 'broker said no' "
                       "WHERE id = (SELECT MIN(id) FROM events_outbox)")
    done = subprocess.run([sys.executable, str(HERE / "admin_page.py")],
                          env={**os.environ, **shop.env}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    page = json.loads(done.stdout.strip().splitlines()[-1])
    assert page["status"] == 200 and page["failing_status"] == 200
    assert "Backlog: 8 pending" in page["body"]  # 3 ProductCreated + 5 StockAdjusted
    assert "oldest pending:" in page["body"] and "failing: 1" in page["body"]
    assert "broker said no" in page["body"]


def test_retention_cleanup_and_clean_stop_on_sigterm(settings, tmp_path):
    shop = ShopProcesses(settings, tmp_path / "home",
                         pipeline={"RETENTION_S": 0, "CLEANUP_INTERVAL_S": 0.5})
    shop.setup()
    prefix = "rt" + uuid.uuid4().hex[:8]
    assert shop.workload("--prefix", prefix, "--skus", "5", "--events", "50", "--setup").wait(
        120) == 0
    relay = shop.start_relay()
    assert wait_until(
        lambda: query(shop.db_url, "SELECT COUNT(*) FROM events_outbox")[0][0] == 0, 60
    ), "published rows were not cleaned up"
    os.killpg(relay, signal.SIGTERM)
    assert wait_until(lambda: "relay stopped: 55 delivered" in
                      (shop.home / "relay.log").read_text(), 30)
