"""Events over a topic's max.message.bytes: refused at publish, set aside by the relay.

`publish` refuses an event over the catalog's limit and writes nothing. A row that is in the
outbox anyway (written before the limit changed) goes to the dead letters with its origin,
whether our own check catches it (over the catalog's limit) or the broker refuses it (the
topic's limit on the cluster is lower than the catalog's); every other row, including later
rows of the same aggregates, is delivered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from producer_django.stack import django_env, manage_argv
from producer_django.testing import read_topic

HERE = Path(__file__).parent
TOPIC = "shop.inventory"
BROKER_LIMIT = 20_000


def _set_topic_limit(settings, value: str | None) -> None:
    admin = AdminClient(settings.kafka_conf())
    op = AlterConfigOpType.SET if value is not None else AlterConfigOpType.DELETE
    resource = ConfigResource(ConfigResource.Type.TOPIC, TOPIC, incremental_configs=[
        ConfigEntry("max.message.bytes", value, incremental_operation=op)])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)


def _child(env, *args) -> dict:
    done = subprocess.run([sys.executable, str(HERE / "oversized_events.py"), *args], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_oversized_events_are_refused_at_publish_and_never_block_the_relay(
    stack, settings, registry_client, tmp_path
):
    env = {**os.environ, **django_env(settings, stack.home), "PYTHONPATH": str(HERE),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'oversized.sqlite3'}"}
    correlation, prefix = str(uuid.uuid4()), "big" + uuid.uuid4().hex[:8]
    written = _child(env, "publish", correlation, prefix)
    assert written["rows_after_refusal"] == 0
    refusal = written["refused"]
    assert "StockAdjusted" in refusal and "1048588" in refusal and TOPIC in refusal
    assert "max.message.bytes" in refusal and "pipeline topics apply" in refusal

    _set_topic_limit(settings, str(BROKER_LIMIT))
    try:
        relay = subprocess.run(manage_argv("relay_outbox", "--until-empty"), env=env,
                               capture_output=True, text=True, timeout=300)
    finally:
        _set_topic_limit(settings, None)
    assert relay.returncode == 0, relay.stderr[-3000:]

    after = _child(env, "report")
    assert after["pending"] == 0 and after["published"] == 4
    dead = after["dead"]
    assert [d["aggregate_id"] for d in dead] == [f"{prefix}-a", f"{prefix}-b"]
    assert dead[0]["outbox_id"] == written["big_id"] and dead[0]["topic"] == TOPIC
    assert "max.message.bytes" in dead[0]["reason"] and "1048588" in dead[0]["reason"]
    assert "broker refused" in dead[1]["reason"]

    delivered = read_topic(
        settings, registry_client, TOPIC,
        lambda key, headers: headers.get("correlation_id") == correlation,
        until=lambda events: len(events) >= 4,
    )
    assert sorted(e.value["sku"] for e in delivered) == sorted(
        f"{prefix}-{s}" for s in "abcd")
    assert all(e.value["reason"] == "test" for e in delivered)
