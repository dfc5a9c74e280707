"""A request that fails after its domain write leaves neither the row nor an event."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from producer_django.stack import django_env, manage_argv
from producer_django.testing import read_topic

HERE = Path(__file__).parent


def _env(stack, **extra):
    return {**os.environ, **django_env(stack.settings, stack.home),
            "PYTHONPATH": str(HERE), **extra}


def test_failure_after_the_write_rolls_back_row_and_event(shop, stack, settings,
                                                          registry_client, prefix):
    sku = f"{prefix}-sku"
    shop.post("/api/products/", {"sku": sku, "name": "Vase", "price_cents": 700, "stock": 4})
    user = shop.post("/api/users/", {"email": f"{prefix}@example.com", "name": "C"}).json()
    failed_corr, ok_corr = str(uuid.uuid4()), str(uuid.uuid4())

    done = subprocess.run(
        [sys.executable, str(HERE / "forced_failure.py"), user["user_id"], sku, failed_corr],
        env=_env(stack), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["status"] == 500
    assert report["after"] == report["before"]  # no order, no outbox row, stock untouched

    # A request after it goes through; once its event is in Kafka, the failed one never is.
    assert shop.post("/api/orders/", {"user_id": user["user_id"],
                                      "lines": [{"sku": sku, "quantity": 1}]},
                     ok_corr).status_code == 201
    seen = read_topic(
        settings, registry_client, "shop.orders",
        lambda key, h: h.get("correlation_id") in (failed_corr, ok_corr),
        until=lambda events: any(e.headers["correlation_id"] == ok_corr for e in events),
    )
    assert [e.headers["correlation_id"] for e in seen] == [ok_corr]
    assert seen[0].value["aggregate_version"] == 1


def test_system_checks_name_bad_settings_with_ids_and_hints(stack):
    done = subprocess.run(
        manage_argv("check"), env=_env(stack, DJANGO_SETTINGS_MODULE="bad_settings"),
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0
    out = done.stderr + done.stdout
    assert "events.E001" in out and "BATCHSIZE" in out and "BATCH_SIZE" in out
    assert "events.E002" in out and "POLL_INTERVAL_S" in out
    assert "events.E003" in out and "acks" in out


def test_relay_refuses_bad_settings_with_the_key_named(stack):
    done = subprocess.run(
        manage_argv("relay_outbox", "--until-empty"),
        env=_env(stack, DJANGO_SETTINGS_MODULE="bad_settings"),
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0
    assert "BATCHSIZE" in done.stderr
