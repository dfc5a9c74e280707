"""Rebuilding a declared app's table: a second copy of the app, diffed against the live one.

Real broker and registry; both the "live" app and the rebuild's copy are the shop's declared
`inventory` app (`faust -A streams.shop.inventory:app worker`), run as separate processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from conftest import make_event

from deploy.cli import main
from deploy.runtime.ports import free_port
from schemas import catalog

pytestmark = pytest.mark.integration


def _source_events(prefix: str) -> list[tuple[str, dict]]:
    events = [
        ("ProductCreated", make_event("ProductCreated", sku=f"{prefix}-{k}", name="Teapot",
                                      price_cents=100, stock=50))
        for k in range(5)
    ]
    lines = lambda i: [{"sku": f"{prefix}-{i % 5}", "quantity": 1 + i % 2,  # noqa: E731
                        "unit_price_cents": 100}]
    events += [
        ("OrderPlaced", make_event("OrderPlaced", order_id=f"{prefix}-o{i}", user_id="u-1",
                                   lines=lines(i), total_cents=100))
        for i in range(20)
    ]
    events += [
        ("StockAdjusted", make_event("StockAdjusted", sku=f"{prefix}-{k}", delta=-k,
                                     reason="count"))
        for k in range(5)
    ]
    events.append(("OrderCancelled", make_event("OrderCancelled", order_id=f"{prefix}-o0",
                                                user_id="u-1", reason="x", lines=lines(0))))
    return events


@pytest.fixture
def live_inventory_app(settings, unique, tmp_path):
    """The "live" inventory app, with its own app id and output topics."""
    app_id = f"live-inventory-{unique}"
    outputs = {"LEVELS": f"levels-{unique}", "ALERTS": f"alerts-{unique}",
               "SUMMARY": f"summary-{unique}"}
    admin = AdminClient(settings.kafka_conf())
    for future in admin.create_topics(
        [NewTopic(t, num_partitions=3, replication_factor=1) for t in outputs.values()]
    ).values():
        future.result(30)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")}
    env.update({
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "SCHEMA_REGISTRY_URL": settings.schema_registry_url,
        "STREAMS_APP_ID": app_id,
        "STREAMS_WEB_PORT": str(free_port()),
        "STREAMS_DATA_DIR": str(tmp_path / "live-data"),
        "STREAMS_STORE": "memory",
        **{f"STREAMS_{k}_TOPIC": v for k, v in outputs.items()},
    })
    log = tmp_path / "live-faust.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "faust", "-A", "streams.shop.inventory:app", "worker", "-l",
             "warn"],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    try:
        yield app_id, outputs["LEVELS"], log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        admin.delete_topics(
            [*outputs.values()]
            + [t for t in admin.list_topics(timeout=10).topics if t.startswith(app_id)]
        )


def test_rebuild_matches_the_live_table(settings, producer, live_inventory_app, monkeypatch,
                                        capsys):
    app_id, live_levels, log = live_inventory_app
    prefix = f"RB-{uuid.uuid4().hex[:6]}"
    for event_type, event in _source_events(prefix):
        producer.send_all(catalog.event_type(event_type).topic, [(event_type, event, None, None)])

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", settings.schema_registry_url)
    code = main(["rebuild", "inventory", "--from", "beginning", "--live-topic", live_levels,
                 "--live-app-id", app_id, "--timeout", "150"])
    out, err = capsys.readouterr()
    assert code == 0, f"{out}\n{err}\nlive app log:\n{log.read_text()[-3000:]}"
    assert "0 differences" in out
    assert "note:" not in out  # the live app caught up with the same source offsets
    keys = int(out.split(" keys")[0].rsplit(" ", 1)[1])
    assert keys >= 5


def test_an_app_without_a_declared_table_cannot_be_rebuilt(capsys):
    assert main(["rebuild", "fanout"]) == 1
    err = capsys.readouterr().err
    assert "declares no table and no output_topic" in err and "fanout = { app = " in err
